/** Failed-login counters in Postgres (`login_throttle`), shared by every instance. */

import { prismaOf, type Db } from '../db/handle';

export interface CounterRow {
  key: string;
  failures: number;
  window_ends_at: Date;
}

/** The live windows among `keys` (one indexed query, whatever the number of keys). */
export function readCounters(db: Db, keys: readonly string[], now: Date): Promise<CounterRow[]> {
  return prismaOf(db).$queryRaw<CounterRow[]>`
    SELECT key, failures, window_ends_at FROM login_throttle
    WHERE key = ANY(${keys}::text[]) AND window_ends_at > ${now}::timestamptz`;
}

/**
 * Counts one failure for each key, atomically (one statement, whatever runs beside it): a
 * key without a live window starts a new one ending at its `windowEndsAt`. Keys are locked in
 * sorted order, so two concurrent failures sharing keys cannot deadlock.
 */
export function countFailure(
  db: Db,
  counters: readonly { key: string; windowEndsAt: Date }[],
  now: Date,
): Promise<CounterRow[]> {
  return prismaOf(db).$queryRaw<CounterRow[]>`
    INSERT INTO login_throttle AS t (key, failures, window_ends_at)
    SELECT key, 1, ends FROM unnest(${counters.map((c) => c.key)}::text[], ${counters.map((c) => c.windowEndsAt)}::timestamptz[]) AS n(key, ends)
    ORDER BY key
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN t.window_ends_at <= ${now}::timestamptz THEN 1 ELSE t.failures + 1 END,
      window_ends_at = CASE WHEN t.window_ends_at <= ${now}::timestamptz THEN excluded.window_ends_at ELSE t.window_ends_at END
    RETURNING key, failures, window_ends_at`;
}

/**
 * Deletes up to `batch` expired windows, oldest first, skipping rows another transaction
 * holds (it never waits, so it cannot take part in a deadlock). A statement of its own, not
 * part of {@link countFailure}'s: holding swept rows while waiting for counted ones could.
 */
export function deleteExpired(db: Db, now: Date, batch: number): Promise<number> {
  return prismaOf(db).$executeRaw`
    DELETE FROM login_throttle WHERE key IN (
      SELECT key FROM login_throttle WHERE window_ends_at <= ${now}::timestamptz
      ORDER BY window_ends_at LIMIT ${batch} FOR UPDATE SKIP LOCKED
    ) AND window_ends_at <= ${now}::timestamptz`;
}
