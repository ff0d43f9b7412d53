/** Legacy tokens in Postgres: only the SHA-256 of each token, a hint and metadata. */
import type { PrismaClient } from '../db/database';
import type { LegacyToken, Prisma, Role } from '../generated/prisma/client';

type Tx = Prisma.TransactionClient;

export interface LegacyForAuth {
  readonly id: number;
  readonly userId: number;
  readonly organizationId: number;
  readonly revoked: boolean;
  readonly userActive: boolean;
  readonly memberRole: Role | null;
  readonly legacyEnabled: boolean;
}

/** The token by hash, with its user, membership and organization policy, in one query. */
export async function findLegacyForAuth(db: PrismaClient, tokenHash: string): Promise<LegacyForAuth | undefined> {
  const rows = await db.$queryRaw<LegacyForAuth[]>`
    SELECT t.id, t.user_id AS "userId", t.organization_id AS "organizationId", t.revoked_at IS NOT NULL AS revoked,
           u.is_active AS "userActive", m.role::text AS "memberRole", o.legacy_api_tokens_enabled AS "legacyEnabled"
    FROM legacy_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN organizations o ON o.id = t.organization_id
    LEFT JOIN memberships m ON m.user_id = t.user_id AND m.organization_id = t.organization_id
    WHERE t.token_hash = ${tokenHash}`;
  return rows[0];
}

export function findLiveLegacy(db: PrismaClient, userId: number, organizationId: number): Promise<LegacyToken | null> {
  return db.legacyToken.findFirst({ where: { userId, organizationId, revokedAt: null }, orderBy: { id: 'desc' } });
}

/** Revokes the user's live token in the organization (there is at most one) and stores the new one. */
export async function replaceLegacy(tx: Tx, token: { userId: number; organizationId: number; tokenHash: string; hint: string; now: Date }): Promise<{ created: LegacyToken; revoked: number[] }> {
  const live = await tx.legacyToken.findMany({ where: { userId: token.userId, organizationId: token.organizationId, revokedAt: null }, select: { id: true } });
  await tx.legacyToken.updateMany({ where: { id: { in: live.map((row) => row.id) } }, data: { revokedAt: token.now } });
  const created = await tx.legacyToken.create({
    data: { userId: token.userId, organizationId: token.organizationId, tokenHash: token.tokenHash, hint: token.hint, createdAt: token.now },
  });
  return { created, revoked: live.map((row) => row.id) };
}

/** Revokes one token of the organization if live; false otherwise. */
export async function revokeLegacy(tx: Tx | PrismaClient, id: number, organizationId: number, now: Date): Promise<boolean> {
  const { count } = await tx.legacyToken.updateMany({ where: { id, organizationId, revokedAt: null }, data: { revokedAt: now } });
  return count === 1;
}
