/** Users as login and the current-user endpoints read them. */
import type { PrismaClient } from '../db/database';

/** The user by (lower-cased) email, with the active memberships login may bind a session to. */
export function findUserByEmail(prisma: PrismaClient, email: string) {
  return prisma.user.findUnique({
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

export function findAccessTokenTtl(prisma: PrismaClient, organizationId: number) {
  return prisma.organization.findUniqueOrThrow({
    where: { id: organizationId },
    select: { accessTokenTtlSeconds: true },
  });
}
