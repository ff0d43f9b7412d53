/** Sessions in Postgres (authentication reads them through AuthState). */
import type { PrismaClient } from '../db/database';
import type { Prisma, Session } from '../generated/prisma/client';

type Db = PrismaClient | Prisma.TransactionClient;

export function insertSession(
  prisma: Db,
  session: Pick<Session, 'id' | 'tokenHash' | 'userId' | 'organizationId' | 'createdAt' | 'expiresAt'>,
): Promise<Session> {
  return prisma.session.create({ data: session });
}

/** Ends a live session; false if it was already over. */
export async function endSession(prisma: Db, id: string, now: Date): Promise<boolean> {
  const { count } = await prisma.session.updateMany({ where: { id, endedAt: null }, data: { endedAt: now } });
  return count === 1;
}
