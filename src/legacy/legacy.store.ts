/** Legacy tokens in Postgres: only the SHA-256 of each token, a hint and metadata. */
import { prismaOf, type Db } from '../db/handle';
import type { LegacyToken } from '../generated/prisma/client';

export function findLiveLegacy(db: Db, userId: number, organizationId: number): Promise<LegacyToken | null> {
  return prismaOf(db).legacyToken.findFirst({
    where: { userId, organizationId, revokedAt: null },
    orderBy: { id: 'desc' },
  });
}

/** Revokes the user's live tokens in the organization; returns their ids. */
export async function revokeLiveLegacy(tx: Db, userId: number, organizationId: number, now: Date): Promise<number[]> {
  const live = await prismaOf(tx).legacyToken.findMany({
    where: { userId, organizationId, revokedAt: null },
    select: { id: true },
  });
  await prismaOf(tx).legacyToken.updateMany({
    where: { id: { in: live.map((row) => row.id) } },
    data: { revokedAt: now },
  });
  return live.map((row) => row.id);
}

export function insertLegacy(
  tx: Db,
  token: { userId: number; organizationId: number; tokenHash: string; hint: string; createdAt: Date },
): Promise<LegacyToken> {
  return prismaOf(tx).legacyToken.create({ data: token });
}

/** Revokes one token of the organization if live; false otherwise. */
export async function revokeLegacy(tx: Db, id: number, organizationId: number, now: Date): Promise<boolean> {
  const { count } = await prismaOf(tx).legacyToken.updateMany({
    where: { id, organizationId, revokedAt: null },
    data: { revokedAt: now },
  });
  return count === 1;
}
