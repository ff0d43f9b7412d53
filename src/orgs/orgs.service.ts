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
import { recordAudit } from '../audit/audit.store';
import type { Principal } from '../auth/principal';
import { atLeast, isOrgAdmin, type Role } from '../auth/roles';
import type { Context } from '../context';
import type { PrismaClient } from '../db/database';
import { fail } from '../errors';
import { hashPassword } from '../users/passwords';
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
import { addFirstOwner, insertOrganization } from './orgs.store';
import { settingsColumns, settingsOf, type SettingsPatch, type TokenSettings } from './settings';

/** The organization `id` if the request may act in it (see the module comment). */
export async function actIn(ctx: Context, principal: Principal, id: number): Promise<number> {
  if (principal.organizationId === id) return id;
  if (await isMember(ctx.prisma, principal.userId, id)) {
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
  return settingsOf(await ctx.prisma.organization.findUniqueOrThrow({ where: { id: principal.organizationId } }));
}

/** `POST /api/jwt/settings`: owners and administrators only. */
export async function updateSettings(
  ctx: Context,
  principal: Principal,
  patch: SettingsPatch,
  ip: string | undefined,
): Promise<TokenSettings> {
  requireAdmin(principal);
  const updated = await applySettings(ctx.prisma, principal.organizationId, patch, {
    actorUserId: principal.userId,
    ip,
    via: 'api',
  });
  if (!updated) throw fail('not_found');
  await ctx.state.sync();
  return updated;
}

/**
 * A partial update in one transaction with its audit event (old and new values of what
 * changed); shared by the API and `latchkey settings set`. Undefined: no such organization.
 */
export function applySettings(
  prisma: PrismaClient,
  organizationId: number,
  patch: SettingsPatch,
  by: { actorUserId: number | null; ip?: string | undefined; via: 'api' | 'cli' },
): Promise<TokenSettings | undefined> {
  return prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<
      { id: number }[]
    >`SELECT id FROM organizations WHERE id = ${organizationId} FOR UPDATE`;
    if (!row) return undefined;
    const before = settingsOf(await tx.organization.findUniqueOrThrow({ where: { id: row.id } }));
    const after = settingsOf(await tx.organization.update({ where: { id: row.id }, data: settingsColumns(patch) }));
    const changed = (Object.keys(after) as (keyof TokenSettings)[]).filter((key) => before[key] !== after[key]);
    if (changed.length) {
      await recordAudit(tx, {
        action: 'settings.updated',
        organizationId: row.id,
        actorUserId: by.actorUserId,
        targetType: 'organization',
        targetId: row.id,
        ip: by.ip,
        details: {
          via: by.via,
          old: Object.fromEntries(changed.map((k) => [k, before[k]])),
          new: Object.fromEntries(changed.map((k) => [k, after[k]])),
        },
      });
    }
    return after;
  });
}

/** `POST /api/organizations`: the caller owns the new organization; their active one is unchanged. */
export function createOrganization(ctx: Context, principal: Principal, title: string, ip: string | undefined) {
  return ctx.prisma.$transaction(async (tx) => {
    const org = await insertOrganization(tx, title, ctx.config.defaultOrgSettings);
    await addFirstOwner(tx, {
      organizationId: org.id,
      userId: principal.userId,
      actorUserId: principal.userId,
      ip,
      via: 'api',
    });
    return org;
  });
}

/** The caller's memberships, pending invitations included (with their status). */
export function listOwnOrganizations(ctx: Context, principal: Principal) {
  return listUserMemberships(ctx.prisma, principal.userId);
}

/** `PATCH /api/current-user`: the organization the next login acts in (one the user is a member of; not a pending one). */
export async function switchActiveOrganization(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  ip: string | undefined,
): Promise<void> {
  if (!(await isMember(ctx.prisma, principal.userId, organizationId))) throw fail('not_found');
  await ctx.prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id: principal.userId }, data: { activeOrganizationId: organizationId } });
    await recordAudit(tx, {
      action: 'user.active_organization_changed',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'user',
      targetId: principal.userId,
      ip,
    });
  });
  await ctx.state.sync();
}

/** The organization's members and pending invitations, oldest first; owners and administrators only. */
export async function listOrgMembers(ctx: Context, principal: Principal, organizationId: number, page: Page) {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countMembers(ctx.prisma, organizationId),
    listMembers(ctx.prisma, organizationId, page.skip, page.size),
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
  const existing = await ctx.prisma.user.findUnique({ where: { email }, select: { id: true } });
  if (!existing && !member.password)
    throw fail('validation_error', { fields: { password: ['This field is required for a new user.'] } });
  const passwordHash = existing ? undefined : await hashPassword(member.password!, ctx.config.bcryptRounds);
  try {
    const added = await ctx.prisma.$transaction(async (tx) => {
      const user =
        existing ??
        (await tx.user.create({
          data: {
            email,
            passwordHash: passwordHash!,
            firstName: member.firstName ?? '',
            lastName: member.lastName ?? '',
            activeOrganizationId: organizationId,
          },
        }));
      const status = existing ? 'pending' : 'active';
      await insertMembership(tx, { userId: user.id, organizationId, role: member.role, status });
      await recordAudit(tx, {
        action: 'membership.created',
        organizationId,
        actorUserId: principal.userId,
        targetType: 'membership',
        targetId: user.id,
        ip,
        details: { email, role: member.role, new_user: !existing, status },
      });
      return { user_id: user.id, email, role: member.role, organization: organizationId, status };
    });
    await ctx.state.sync();
    return added;
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002')
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
  const changed = await ctx.prisma.$transaction(async (tx) => {
    const owners = await lockOwners(tx, organizationId);
    const current = await findMembership(tx, userId, organizationId);
    if (!current) throw fail('not_found');
    if (!atLeast(principal.role, current.role) || !atLeast(principal.role, role)) throw noHigherThanYours(principal);
    if (role !== 'owner' && isLastOwner(owners, userId)) throw lastOwner();
    const updated = await setRole(tx, userId, organizationId, role);
    await recordAudit(tx, {
      action: 'membership.updated',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: userId,
      ip,
      details: { old: { role: current.role }, new: { role } },
    });
    return updated;
  });
  await ctx.state.sync();
  return changed;
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
  await ctx.prisma.$transaction(async (tx) => {
    const owners = await lockOwners(tx, organizationId);
    const current = await findMembership(tx, userId, organizationId);
    if (!current) throw fail('not_found');
    if (!atLeast(principal.role, current.role)) throw noHigherThanYours(principal);
    if (isLastOwner(owners, userId)) throw lastOwner();
    await deleteMembership(tx, userId, organizationId);
    await recordAudit(tx, {
      action: 'membership.deleted',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: userId,
      ip,
      details: { role: current.role },
    });
  });
  await ctx.state.sync();
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
  const accepted = await ctx.prisma.$transaction(async (tx) => {
    const membership = await activatePending(tx, principal.userId, organizationId);
    if (!membership) throw fail('not_found');
    await recordAudit(tx, {
      action: 'membership.accepted',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'membership',
      targetId: principal.userId,
      ip,
      details: { role: membership.role },
    });
    return {
      user_id: principal.userId,
      email: principal.user.email,
      role: membership.role,
      organization: organizationId,
      status: 'active' as const,
    };
  });
  await ctx.state.sync();
  return accepted;
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
  const declined = await ctx.prisma.$transaction(async (tx) => {
    if (!(await deletePending(tx, userId, organizationId))) return false;
    await recordAudit(tx, {
      action: 'membership.declined',
      organizationId,
      actorUserId: userId,
      targetType: 'membership',
      targetId: userId,
      ip,
    });
    return true;
  });
  if (declined) await ctx.state.sync();
  return declined;
}
