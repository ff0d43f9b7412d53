/**
 * Memberships and the rows that change with them.
 *
 * A membership is `active` or `pending` (an existing account added to an organization, not yet
 * accepted). Only an active one grants anything: every read here that decides what someone
 * may do (and authentication's in src/auth/state.store.ts, login's in src/users/users.store.ts)
 * counts active memberships only.
 */
import { prismaOf, type Db } from '../db/handle';
import type { MembershipStatus, Prisma, Role } from '../generated/prisma/client';

/** The filter that makes a membership count. */
const ACTIVE = { status: 'active' } as const satisfies Prisma.MembershipWhereInput;

/** True when the user is an (active) member of the organization. */
export async function isMember(db: Db, userId: number, organizationId: number): Promise<boolean> {
  return (await prismaOf(db).membership.count({ where: { userId, organizationId, ...ACTIVE } })) === 1;
}

/** Members and pending invitations alike: the organization's list shows both. */
export function countMembers(db: Db, organizationId: number): Promise<number> {
  return prismaOf(db).membership.count({ where: { organizationId } });
}

export function listMembers(db: Db, organizationId: number, skip: number, take: number) {
  return prismaOf(db).membership.findMany({
    where: { organizationId },
    orderBy: { id: 'asc' },
    skip,
    take,
    select: {
      role: true,
      status: true,
      createdAt: true,
      user: {
        select: {
          id: true,
          email: true,
          username: true,
          firstName: true,
          lastName: true,
          phone: true,
          avatar: true,
          allowNewsletters: true,
          isActive: true,
          activeOrganizationId: true,
          createdAt: true,
          lastActivity: true,
        },
      },
    },
  });
}

/** A user's memberships and invitations, with their organizations. */
export function listUserMemberships(db: Db, userId: number) {
  return prismaOf(db).membership.findMany({
    where: { userId },
    orderBy: { organizationId: 'asc' },
    select: { role: true, status: true, organization: { select: { id: true, title: true, createdAt: true } } },
  });
}

/**
 * Locks the organization's (active) owner rows for the rest of the transaction and returns
 * their user ids, so two admins cannot each remove "one of two" owners at once. A pending
 * owner is no owner yet.
 */
export async function lockOwners(tx: Db, organizationId: number): Promise<number[]> {
  const rows = await prismaOf(tx).$queryRaw<
    { user_id: number }[]
  >`SELECT user_id FROM memberships WHERE organization_id = ${organizationId} AND role = 'owner' AND status = 'active' FOR UPDATE`;
  return rows.map((row) => row.user_id);
}

/** The membership whatever its status: what admins manage (a pending one is an invitation). */
export function findMembership(tx: Db, userId: number, organizationId: number) {
  return prismaOf(tx).membership.findUnique({ where: { userId_organizationId: { userId, organizationId } } });
}

export function insertMembership(
  tx: Db,
  m: { userId: number; organizationId: number; role: Role; status: MembershipStatus },
) {
  return prismaOf(tx).membership.create({ data: m });
}

export function setRole(tx: Db, userId: number, organizationId: number, role: Role) {
  return prismaOf(tx).membership.update({
    where: { userId_organizationId: { userId, organizationId } },
    data: { role },
  });
}

/** Makes a pending membership active; undefined when there was none pending. */
export async function activatePending(
  tx: Db,
  userId: number,
  organizationId: number,
): Promise<{ role: Role } | undefined> {
  const [row] = await prismaOf(tx).membership.updateManyAndReturn({
    where: { userId, organizationId, status: 'pending' },
    data: ACTIVE,
    select: { role: true },
  });
  return row;
}

/** Deletes a pending membership; false when there was none pending. */
export async function deletePending(tx: Db, userId: number, organizationId: number): Promise<boolean> {
  const { count } = await prismaOf(tx).membership.deleteMany({ where: { userId, organizationId, status: 'pending' } });
  return count === 1;
}

/** Deletes the membership; a user whose active organization it was moves to another of theirs (or none). */
export async function deleteMembership(tx: Db, userId: number, organizationId: number): Promise<void> {
  await prismaOf(tx).membership.delete({ where: { userId_organizationId: { userId, organizationId } } });
  const next = await prismaOf(tx).membership.findFirst({
    where: { userId, ...ACTIVE },
    orderBy: { id: 'asc' },
    select: { organizationId: true },
  });
  await prismaOf(tx).user.updateMany({
    where: { id: userId, activeOrganizationId: organizationId },
    data: { activeOrganizationId: next?.organizationId ?? null },
  });
}
