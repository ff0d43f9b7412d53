/** Signing keys in Postgres. Every change runs under one advisory lock, so instances agree. */
import type { PrismaClient } from '../db/database';
import type { Prisma, SigningKey } from '../generated/prisma/client';

export type { SigningKey };
export type Tx = Prisma.TransactionClient;

const KEYS_LOCK_KEY = 0x4c4b_0002;

/** Newest first. Retired keys verify nothing and are left out. */
export function findUsableKeys(prisma: PrismaClient | Tx): Promise<SigningKey[]> {
  return prisma.signingKey.findMany({
    where: { state: { in: ['signing', 'verifying'] } },
    orderBy: { createdAt: 'desc' },
  });
}

/** Runs `fn` in a transaction holding the signing-keys lock. */
export function withKeysLock<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK_KEY})`;
    return fn(tx);
  });
}

export function findSigningKey(tx: Tx): Promise<SigningKey | null> {
  return tx.signingKey.findFirst({ where: { state: 'signing' } });
}

/** Demotes the current signing key (if any) to verifying and inserts `key` as the signer. */
export async function insertSigningKey(
  tx: Tx,
  key: Pick<SigningKey, 'kid' | 'alg' | 'publicJwk' | 'privateKeyEncrypted' | 'createdAt'>,
): Promise<SigningKey> {
  await tx.signingKey.updateMany({ where: { state: 'signing' }, data: { state: 'verifying' } });
  return tx.signingKey.create({
    data: {
      kid: key.kid,
      alg: key.alg,
      publicJwk: key.publicJwk ?? undefined,
      privateKeyEncrypted: key.privateKeyEncrypted,
      createdAt: key.createdAt,
      state: 'signing',
    },
  });
}

/**
 * Retires verifying keys nothing can still need: no PAT signed with the key is live (within
 * `graceSeconds` of its expiry), and its successor has been signing for longer than
 * `graceSeconds`, so every access token the key signed has expired. Returns the retired kids.
 */
export async function retireUnneededKeys(tx: Tx, now: Date, graceSeconds: number): Promise<string[]> {
  const cutoff = new Date(now.getTime() - graceSeconds * 1000);
  const rows = await tx.$queryRaw<{ kid: string }[]>`
    UPDATE signing_keys AS k SET state = 'retired', retired_at = ${now}
    WHERE k.state = 'verifying'
      AND NOT EXISTS (SELECT 1 FROM personal_access_tokens p WHERE p.kid = k.kid AND p.revoked_at IS NULL AND p.expires_at > ${cutoff})
      AND (SELECT min(n.created_at) FROM signing_keys n WHERE n.kid <> k.kid AND n.created_at >= k.created_at) < ${cutoff}
    RETURNING k.kid`;
  return rows.map((row) => row.kid);
}
