/** Label Studio Enterprise's roles, and the one ordering every permission check uses. */
import type { Role } from '../generated/prisma/client';

export type { Role };

export const ROLES = ['owner', 'administrator', 'manager', 'reviewer', 'annotator'] as const satisfies readonly Role[];

const RANK: Readonly<Record<Role, number>> = { owner: 5, administrator: 4, manager: 3, reviewer: 2, annotator: 1 };

export const isRole = (value: unknown): value is Role => typeof value === 'string' && Object.hasOwn(RANK, value);

/** `role` is at least `floor`. */
export const atLeast = (role: Role, floor: Role) => RANK[role] >= RANK[floor];

/** The lower of two roles: what a credential may do is capped by its holder's current role. */
export const lower = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);

/** Owners and administrators manage the organization, its members and every token in it. */
export const isOrgAdmin = (role: Role) => atLeast(role, 'administrator');
