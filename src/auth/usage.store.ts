/**
 * `last_used_at` of PATs and legacy tokens and `last_activity` of users, written in batches; a
 * later use never goes back in time.
 */
import { prismaOf, type Db } from '../db/handle';

export interface Use<K> {
  readonly key: K;
  readonly at: Date;
}

export async function markPatsUsed(db: Db, uses: readonly Use<string>[]): Promise<void> {
  await prismaOf(db).$executeRaw`
    UPDATE personal_access_tokens p SET last_used_at = u.at
    FROM unnest(${uses.map((u) => u.key)}::text[], ${uses.map((u) => u.at)}::timestamptz[]) AS u(jti, at)
    WHERE p.jti = u.jti AND (p.last_used_at IS NULL OR p.last_used_at < u.at)`;
}

export async function markLegacyUsed(db: Db, uses: readonly Use<number>[]): Promise<void> {
  await prismaOf(db).$executeRaw`
    UPDATE legacy_tokens t SET last_used_at = u.at
    FROM unnest(${uses.map((u) => u.key)}::int[], ${uses.map((u) => u.at)}::timestamptz[]) AS u(id, at)
    WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`;
}

/** Not announced by the change feed (see the users_notify_update trigger): it evicts nothing. */
export async function markUsersActive(db: Db, uses: readonly Use<number>[]): Promise<void> {
  await prismaOf(db).$executeRaw`
    UPDATE users x SET last_activity = u.at
    FROM unnest(${uses.map((u) => u.key)}::int[], ${uses.map((u) => u.at)}::timestamptz[]) AS u(id, at)
    WHERE x.id = u.id AND (x.last_activity IS NULL OR x.last_activity < u.at)`;
}
