/** Users in Postgres. */
import { prismaOf, type Db } from '../db/handle';
import type { User } from '../generated/prisma/client';

export type { User };

/** The user by (lower-cased) email, with the active memberships login may bind a session to. */
export function findUserByEmail(db: Db, email: string) {
  return prismaOf(db).user.findUnique({
    where: { email },
    select: {
      id: true,
      passwordHash: true,
      isActive: true,
      activeOrganizationId: true,
      memberships: {
        where: { status: 'active' },
        select: { organizationId: true, role: true },
        orderBy: { id: 'asc' },
      },
    },
  });
}

export function findAccessTokenTtl(db: Db, organizationId: number) {
  return prismaOf(db).organization.findUniqueOrThrow({
    where: { id: organizationId },
    select: { accessTokenTtlSeconds: true },
  });
}

export function findUserIdByEmail(db: Db, email: string): Promise<{ id: number } | null> {
  return prismaOf(db).user.findUnique({ where: { email }, select: { id: true } });
}

/** Is there any user at all (LIMIT 1, not how many: start-up must not scan the table)? */
export async function anyUserExists(db: Db): Promise<boolean> {
  return (await prismaOf(db).user.findFirst({ select: { id: true } })) !== null;
}

export function insertUser(
  tx: Db,
  user: { email: string; passwordHash: string; firstName?: string; lastName?: string; activeOrganizationId: number },
): Promise<User> {
  return prismaOf(tx).user.create({ data: user });
}

export async function setActiveOrganization(tx: Db, userId: number, organizationId: number): Promise<void> {
  await prismaOf(tx).user.update({ where: { id: userId }, data: { activeOrganizationId: organizationId } });
}
