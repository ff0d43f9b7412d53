/** Sessions in Postgres (authentication reads them through AuthState). */
import { prismaOf, type Db } from '../db/handle';
import type { Session } from '../generated/prisma/client';

export function insertSession(
  db: Db,
  session: Pick<Session, 'id' | 'tokenHash' | 'userId' | 'organizationId' | 'createdAt' | 'expiresAt'>,
): Promise<Session> {
  return prismaOf(db).session.create({ data: session });
}

/** Ends a live session; false if it was already over. */
export async function endSession(db: Db, id: string, now: Date): Promise<boolean> {
  const { count } = await prismaOf(db).session.updateMany({ where: { id, endedAt: null }, data: { endedAt: now } });
  return count === 1;
}
