/** Signing keys in Postgres. Every change runs under one advisory lock, so instances agree. */
import { prismaOf, transaction, type Db } from '../db/handle';
import type { SigningKey } from '../generated/prisma/client';

export type { SigningKey };

const KEYS_LOCK_KEY = 0x4c4b_0002;

/** Newest first. Retired keys verify nothing and are left out. */
export function findUsableKeys(db: Db): Promise<SigningKey[]> {
  return prismaOf(db).signingKey.findMany({
    where: { state: { in: ['signing', 'verifying'] } },
    orderBy: { createdAt: 'desc' },
  });
}

/** Every key, retired ones included, oldest first (`latchkey keys list`). */
export function listAllKeys(db: Db) {
  return prismaOf(db).signingKey.findMany({
    orderBy: { createdAt: 'asc' },
    select: { kid: true, alg: true, state: true, createdAt: true, retiredAt: true },
  });
}

/** kid → algorithm, of the keys named. */
export async function findKeyAlgorithms(db: Db, kids: readonly string[]): Promise<Map<string, SigningKey['alg']>> {
  const rows = await prismaOf(db).signingKey.findMany({
    where: { kid: { in: [...kids] } },
    select: { kid: true, alg: true },
  });
  return new Map(rows.map((key) => [key.kid, key.alg]));
}

/** Runs `fn` in a transaction holding the signing-keys lock. */
export function withKeysLock<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return transaction(db, async (tx) => {
    await prismaOf(tx).$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK_KEY})`;
    return fn(tx);
  });
}

export function findSigningKey(tx: Db): Promise<SigningKey | null> {
  return prismaOf(tx).signingKey.findFirst({ where: { state: 'signing' } });
}

/** Demotes the current signing key (if any) to verifying and inserts `key` as the signer. */
export async function insertSigningKey(
  tx: Db,
  key: Pick<SigningKey, 'kid' | 'alg' | 'publicJwk' | 'privateKeyEncrypted' | 'createdAt'>,
): Promise<SigningKey> {
  await prismaOf(tx).signingKey.updateMany({ where: { state: 'signing' }, data: { state: 'verifying' } });
  return prismaOf(tx).signingKey.create({
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
export async function retireUnneededKeys(tx: Db, now: Date, graceSeconds: number): Promise<string[]> {
  const cutoff = new Date(now.getTime() - graceSeconds * 1000);
  const rows = await prismaOf(tx).$queryRaw<{ kid: string }[]>`
    UPDATE signing_keys AS k SET state = 'retired', retired_at = ${now}
    WHERE k.state = 'verifying'
      AND NOT EXISTS (SELECT 1 FROM personal_access_tokens p WHERE p.kid = k.kid AND p.revoked_at IS NULL AND p.expires_at > ${cutoff})
      AND (SELECT min(n.created_at) FROM signing_keys n WHERE n.kid <> k.kid AND n.created_at >= k.created_at) < ${cutoff}
    RETURNING k.kid`;
  return rows.map((row) => row.kid);
}
