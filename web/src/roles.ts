/**
 * Label Studio Enterprise's roles, highest first: the server's ordering (src/auth/roles.ts;
 * tests/unit/web.test.ts checks they agree), for what the pages offer. The server decides.
 */
export const ROLES = ['owner', 'administrator', 'manager', 'reviewer', 'annotator'] as const;
export type Role = (typeof ROLES)[number];

const rank = (role: Role) => ROLES.length - ROLES.indexOf(role);
/** `role` is at least `floor`. */
export const atLeast = (role: Role, floor: Role) => rank(role) >= rank(floor);
/** Owners and administrators manage the organization. */
export const isAdmin = (role: Role) => atLeast(role, 'administrator');
/** The roles a user of `role` may hand out: their own and below. */
export const rolesUpTo = (role: Role) => ROLES.filter((r) => atLeast(role, r));
export const roleLabel = (role: Role) => role.charAt(0).toUpperCase() + role.slice(1);
