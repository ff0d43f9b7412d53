/**
 * Organizations, their token settings and memberships: who may do what.
 *
 * A request acts in the organization its credential is bound to. An explicit
 * `/api/organizations/{id}/…` must name that organization: another one the caller belongs to
 * is 403, one they do not belong to is 404 (its existence is not theirs to learn).
 *
 * No one joins an organization without their consent: adding an email that has an account
 * makes a pending membership, which grants nothing (it counts as no membership for every rule
 * here and for authentication) until its user accepts it, or declines it by deleting it.
 */
import type { AuditEvent } from '../audit/audit.store';
import type { Change } from '../audit/changes';
import type { Principal } from '../auth/principal';
import { atLeast, isOrgAdmin, type Role } from '../auth/roles';
import type { Context } from '../context';
import { isUniqueViolation, type Db } from '../db/handle';
import { fail } from '../errors';
import { ProcessError } from '../process-errors';
import { hashPassword } from '../users/passwords';
import { anyUserExists, findUserIdByEmail, insertUser, type User } from '../users/users.store';
import type { Page } from '../http/paging';
import {
  activatePending,
  countMembers,
  deleteMembership,
  deletePending,
  findMembership,
  insertMembership,
  isMember,
  listMembers,
  listUserMemberships,
  lockOwners,
  setRole,
} from './memberships.store';
import {
  findOrganization,
  insertOrganization,
  insertOwner,
  lockBootstrap,
  lockOrganization,
  updateSettings as storeSettings,
  type Organization,
} from './orgs.store';
import { settingsOf, type SettingsPatch, type TokenSettings } from './settings';

/** The organization `id` if the request may act in it (see the module comment). */
export async function actIn(ctx: Context, principal: Principal, id: number): Promise<number> {
  if (principal.organizationId === id) return id;
  if (await isMember(ctx.db, principal.userId, id)) {
    throw fail('permission_denied', {
      detail: 'Your credential is bound to another organization; switch active_organization and log in again.',
    });
  }
  throw fail('not_found');
}

export function requireAdmin(principal: Principal): void {
  if (!isOrgAdmin(principal.role))
    throw fail('permission_denied', { detail: 'Only owners and administrators may do this.' });
}

export async function getSettings(ctx: Context, principal: Principal): Promise<TokenSettings> {
  const org = await findOrganization(ctx.db, principal.organizationId);
  if (!org) throw fail('not_found');
  return settingsOf(org);
}

/** `POST /api/jwt/settings`: owners and administrators only. */
export async function updateSettings(
  ctx: Context,
  principal: Principal,
  patch: SettingsPatch,
  ip: string | undefined,
): Promise<TokenSettings> {
  requireAdmin(principal);
  const updated = await applySettings(ctx.change, principal.organizationId, patch, {
    actorUserId: principal.userId,
    ip,
    via: 'api',
  });
  if (!updated) throw fail('not_found');
  return updated;
}

/**
 * A partial update in one transaction with its audit event (old and new values of what
 * changed); shared by the API and `latchkey settings set`. Undefined: no such organization.
 */
export async function applySettings(
  change: Change,
  organizationId: number,
  patch: SettingsPatch,
  by: { actorUserId: number | null; ip?: string | undefined; via: 'api' | 'cli' },
): Promise<TokenSettings | undefined> {
  const result = await change(
    async (tx) => {
      const org = await lockOrganization(tx, organizationId);
      if (!org) return undefined;
      return { before: settingsOf(org), after: settingsOf(await storeSettings(tx, org.id, patch)) };
    },
    (result) => result && settingsUpdated(organizationId, result.before, result.after, by),
  );
  return result?.after;
}

/** The audit event of a settings change (old and new values of what changed); none if nothing did. */
function settingsUpdated(
  organizationId: number,
  before: TokenSettings,
  after: TokenSettings,
  by: { actorUserId: number | null; ip?: string | undefined; via: 'api' | 'cli' },
): AuditEvent | undefined {
  const changed = (Object.keys(after) as (keyof TokenSettings)[]).filter((key) => before[key] !== after[key]);
  if (!changed.length) return undefined;
  return {
    action: 'settings.updated',
    organizationId,
    actorUserId: by.actorUserId,
    targetType: 'organization',
    targetId: organizationId,
    ip: by.ip,
    details: {
      via: by.via,
      old: Object.fromEntries(changed.map((k) => [k, before[k]])),
      new: Object.fromEntries(changed.map((k) => [k, after[k]])),
    },
  };
}

/** The audit event of an organization's creation with its first owner. */
const founded = (
  organizationId: number,
  ownerId: number,
  by: { actorUserId: number | null; ip?: string | undefined; via: 'api' | 'cli' | 'bootstrap' | 'setup' },
): AuditEvent => ({
  action: 'organization.created',
  organizationId,
  actorUserId: by.actorUserId,
  targetType: 'organization',
  targetId: organizationId,
  ip: by.ip,
  details: { owner_user_id: ownerId, via: by.via },
});

/** `POST /api/organizations`: the caller owns the new organization; their active one is unchanged. */
export function createOrganization(ctx: Context, principal: Principal, title: string, ip: string | undefined) {
  return ctx.change(
    async (tx) => {
      const org = await insertOrganization(tx, title, ctx.config.defaultOrgSettings);
      await insertOwner(tx, org.id, principal.userId);
      return org;
    },
    (org) => founded(org.id, principal.userId, { actorUserId: principal.userId, ip, via: 'api' }),
  );
}

export interface NewOwner {
  readonly email: string;
  readonly passwordHash: string;
  readonly firstName?: string | undefined;
  readonly lastName?: string | undefined;
  readonly organization: string;
  readonly settings: TokenSettings;
}

export interface OwnedOrganization {
  readonly organization: Organization;
  readonly user: User;
}

export class UserExistsError extends ProcessError {
  readonly code = 'user_exists';
  override readonly name = 'UserExistsError';
}

/** Organization, its owner (a new user, active in it), the membership. */
async function insertOwnedOrganization(tx: Db, owner: NewOwner): Promise<OwnedOrganization> {
  const organization = await insertOrganization(tx, owner.organization, owner.settings);
  const user = await insertUser(tx, {
    email: owner.email.toLowerCase(),
    passwordHash: owner.passwordHash,
    ...(owner.firstName === undefined ? {} : { firstName: owner.firstName }),
    ...(owner.lastName === undefined ? {} : { lastName: owner.lastName }),
    activeOrganizationId: organization.id,
  });
  await insertOwner(tx, organization.id, user.id);
  return { organization, user };
}

/** `latchkey create-admin`: a new organization owned by a new user. */
export async function createOrganizationWithOwner(change: Change, owner: NewOwner): Promise<OwnedOrganization> {
  try {
    return await change(
      (tx) => insertOwnedOrganization(tx, owner),
      ({ organization, user }) => founded(organization.id, user.id, { actorUserId: null, via: 'cli' }),
    );
  } catch (err) {
    if (isUniqueViolation(err))
      throw new UserExistsError(`a user with email ${owner.email.toLowerCase()} already exists`, { cause: err });
    throw err;
  }
}

/**
 * The first organization and owner, created only when the database has no user at all: the
 * LATCHKEY_ADMIN_* bootstrap at start-up, and first-run setup (`POST /api/setup`). Instances
 * starting together, and setup requests racing each other or a start-up, serialize on one
 * advisory lock, so exactly one creates it. Returns undefined when there were users already.
 */
export function bootstrapFirstOwner(
  change: Change,
  owner: NewOwner,
  by: { ip?: string | undefined; via: 'bootstrap' | 'setup' } = { via: 'bootstrap' },
): Promise<OwnedOrganization | undefined> {
  return change(
    async (tx) => {
      await lockBootstrap(tx);
      return (await anyUserExists(tx)) ? undefined : insertOwnedOrganization(tx, owner);
    },
    (created) => created && founded(created.organization.id, created.user.id, { actorUserId: null, ...by }),
  );
}

/** The caller's memberships, pending invitations included (with their status). */
export function listOwnOrganizations(ctx: Context, principal: Principal) {
  return listUserMemberships(ctx.db, principal.userId);
}

/** The organization's members and pending invitations, oldest first; owners and administrators only. */
export async function listOrgMembers(ctx: Context, principal: Principal, organizationId: number, page: Page) {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countMembers(ctx.db, organizationId),
    listMembers(ctx.db, organizationId, page.skip, page.size),
  ]);
  return { count, rows };
}

export interface NewMember {
  readonly email: string;
  readonly role: Role;
  readonly password?: string | undefined;
  readonly firstName?: string | undefined;
  readonly lastName?: string | undefined;
}

const noHigherThanYours = (principal: Principal) =>
  fail('permission_denied', { detail: `You cannot give or change a role above your own (${principal.role}).` });

/**
 * Adds a user with a role at most the caller's. A new email becomes a user with the sent
 * password, active in the organization at once; an existing account keeps its password and
 * gets a pending membership that it must accept.
 */
export async function addMember(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  member: NewMember,
  ip: string | undefined,
) {
  requireAdmin(principal);
  if (!atLeast(principal.role, member.role)) throw noHigherThanYours(principal);
  const email = member.email.toLowerCase();
  const existing = await findUserIdByEmail(ctx.db, email);
  if (!existing && !member.password)
    throw fail('validation_error', { fields: { password: ['This field is required for a new user.'] } });
  const passwordHash = existing ? undefined : await hashPassword(member.password!, ctx.config.bcryptRounds);
  try {
    return await ctx.change(
      async (tx) => {
        const user =
          existing ??
          (await insertUser(tx, {
            email,
            passwordHash: passwordHash!,
            firstName: member.firstName ?? '',
            lastName: member.lastName ?? '',
            activeOrganizationId: organizationId,
          }));
        const status = existing ? ('pending' as const) : ('active' as const);
        await insertMembership(tx, { userId: user.id, organizationId, role: member.role, status });
        return { user_id: user.id, email, role: member.role, organization: organizationId, status };
      },
      (added) => ({
        action: 'membership.created',
        organizationId,
        actorUserId: principal.userId,
        targetType: 'membership',
        targetId: added.user_id,
        ip,
        details: { email, role: member.role, new_user: !existing, status: added.status },
      }),
    );
  } catch (err) {
    if (isUniqueViolation(err))
      throw fail('already_member', {
        detail: `${email} is already a member of this organization, or invited to it (or was added at the same moment).`,
      });
    throw err;
  }
}

const lastOwner = () => fail('last_owner');

/** `owners` from {@link lockOwners}: active owners only, so a pending owner never counts. */
const isLastOwner = (owners: readonly number[], userId: number) => owners.length === 1 && owners[0] === userId;

/** Changes a member's role: the caller must outrank or equal both the old and the new role. */
export async function changeRole(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  userId: number,
  role: Role,
  ip: string | undefined,
) {
  requireAdmin(principal);
  const { updated } = await ctx.change(
    async (tx) => {
      const owners = await lockOwners(tx, organizationId);
      const current = await findMembership(tx, userId, organizationId);
      if (!current) throw fail('not_found');
      if (!atLeast(principal.role, current.role) || !atLeast(principal.role, role)) throw noHigherThanYours(principal);
      if (role !== 'owner' && isLastOwner(owners, userId)) throw lastOwner();
      return { was: current.role, updated: await setRole(tx, userId, organizationId, role) };
    },
    ({ was }) => ({
      action: 'membership.updated',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: userId,
      ip,
      details: { old: { role: was }, new: { role } },
    }),
  );
  return updated;
}

/** Removes a member (or withdraws an invitation); their tokens for this organization stop on the next request. */
export async function removeMember(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  userId: number,
  ip: string | undefined,
): Promise<void> {
  requireAdmin(principal);
  await ctx.change(
    async (tx) => {
      const owners = await lockOwners(tx, organizationId);
      const current = await findMembership(tx, userId, organizationId);
      if (!current) throw fail('not_found');
      if (!atLeast(principal.role, current.role)) throw noHigherThanYours(principal);
      if (isLastOwner(owners, userId)) throw lastOwner();
      await deleteMembership(tx, userId, organizationId);
      return current.role;
    },
    (was) => ({
      action: 'membership.deleted',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: userId,
      ip,
      details: { role: was },
    }),
  );
}

/**
 * `POST /api/organizations/{id}/memberships/accept`: the caller accepts their pending
 * membership, which then grants its role. Any credential of theirs will do (a pending
 * membership binds none); 404 when they have no pending invitation there.
 */
export async function acceptInvitation(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  ip: string | undefined,
) {
  return ctx.change(
    async (tx) => {
      const membership = await activatePending(tx, principal.userId, organizationId);
      if (!membership) throw fail('not_found');
      return {
        user_id: principal.userId,
        email: principal.user.email,
        role: membership.role,
        organization: organizationId,
        status: 'active' as const,
      };
    },
    (accepted) => ({
      action: 'membership.accepted',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: principal.userId,
      ip,
      details: { role: accepted.role },
    }),
  );
}

/**
 * The caller's DELETE of their own pending membership: declining it, from a credential bound
 * to any organization. False when `userId` is not the caller or they have no pending
 * invitation there: the request is then an ordinary removal ({@link removeMember}).
 */
export async function declineInvitation(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  userId: number,
  ip: string | undefined,
): Promise<boolean> {
  if (userId !== principal.userId) return false;
  return ctx.change(
    (tx) => deletePending(tx, userId, organizationId),
    (declined) =>
      declined
        ? {
            action: 'membership.declined',
            organizationId,
            actorUserId: userId,
            targetType: 'membership',
            targetId: userId,
            ip,
          }
        : undefined,
  );
}
