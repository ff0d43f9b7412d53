/** Memberships and the rows that change with them. */
import type { PrismaClient } from '../db/database';
import type { Prisma, Role } from '../generated/prisma/client';

type Tx = Prisma.TransactionClient;

/**
 * Locks one membership row for the rest of the transaction: serializes token creation per
 * user and organization (so the PAT limit holds under concurrency). False: not a member.
 */
export async function lockMembership(tx: Tx, userId: number, organizationId: number): Promise<boolean> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM memberships WHERE user_id = ${userId} AND organization_id = ${organizationId} FOR UPDATE`;
  return rows.length === 1;
}

export function countMembers(db: PrismaClient, organizationId: number): Promise<number> {
  return db.membership.count({ where: { organizationId } });
}

export function listMembers(db: PrismaClient, organizationId: number, skip: number, take: number) {
  return db.membership.findMany({
    where: { organizationId },
    orderBy: { id: 'asc' },
    skip,
    take,
    select: { role: true, createdAt: true, user: { select: { id: true, email: true, firstName: true, lastName: true, isActive: true } } },
  });
}

/**
 * Locks the organization's owner rows for the rest of the transaction and returns their user
 * ids, so two admins cannot each remove "one of two" owners at once.
 */
export async function lockOwners(tx: Tx, organizationId: number): Promise<number[]> {
  const rows = await tx.$queryRaw<{ user_id: number }[]>`SELECT user_id FROM memberships WHERE organization_id = ${organizationId} AND role = 'owner' FOR UPDATE`;
  return rows.map((row) => row.user_id);
}

export function findMembership(tx: Tx | PrismaClient, userId: number, organizationId: number) {
  return tx.membership.findUnique({ where: { userId_organizationId: { userId, organizationId } } });
}

export function setRole(tx: Tx, userId: number, organizationId: number, role: Role) {
  return tx.membership.update({ where: { userId_organizationId: { userId, organizationId } }, data: { role } });
}

/** Deletes the membership; a user whose active organization it was moves to another of theirs (or none). */
export async function deleteMembership(tx: Tx, userId: number, organizationId: number): Promise<void> {
  await tx.membership.delete({ where: { userId_organizationId: { userId, organizationId } } });
  const next = await tx.membership.findFirst({ where: { userId }, orderBy: { id: 'asc' }, select: { organizationId: true } });
  await tx.user.updateMany({ where: { id: userId, activeOrganizationId: organizationId }, data: { activeOrganizationId: next?.organizationId ?? null } });
}
