/** Legacy tokens in Postgres: only the SHA-256 of each token, a hint and metadata. */
import type { PrismaClient } from '../db/database';
import type { LegacyToken, Prisma } from '../generated/prisma/client';

type Tx = Prisma.TransactionClient;

export function findLiveLegacy(db: PrismaClient, userId: number, organizationId: number): Promise<LegacyToken | null> {
  return db.legacyToken.findFirst({ where: { userId, organizationId, revokedAt: null }, orderBy: { id: 'desc' } });
}

/** Revokes the user's live token in the organization (there is at most one) and stores the new one. */
export async function replaceLegacy(
  tx: Tx,
  token: { userId: number; organizationId: number; tokenHash: string; hint: string; now: Date },
): Promise<{ created: LegacyToken; revoked: number[] }> {
  const live = await tx.legacyToken.findMany({
    where: { userId: token.userId, organizationId: token.organizationId, revokedAt: null },
    select: { id: true },
  });
  await tx.legacyToken.updateMany({ where: { id: { in: live.map((row) => row.id) } }, data: { revokedAt: token.now } });
  const created = await tx.legacyToken.create({
    data: {
      userId: token.userId,
      organizationId: token.organizationId,
      tokenHash: token.tokenHash,
      hint: token.hint,
      createdAt: token.now,
    },
  });
  return { created, revoked: live.map((row) => row.id) };
}

/** Revokes one token of the organization if live; false otherwise. */
export async function revokeLegacy(
  tx: Tx | PrismaClient,
  id: number,
  organizationId: number,
  now: Date,
): Promise<boolean> {
  const { count } = await tx.legacyToken.updateMany({
    where: { id, organizationId, revokedAt: null },
    data: { revokedAt: now },
  });
  return count === 1;
}
