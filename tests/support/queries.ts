/**
 * Counts the app's round trips to Postgres while `fn` runs: every statement (or transaction)
 * checks a connection out of the pool, and the pool says so with `acquire`.
 */
import type { Database } from '../../src/db/database';

export async function queriesDuring(database: Database, fn: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const onAcquire = () => void count++;
  database.pool.on('acquire', onAcquire);
  try {
    await fn();
  } finally {
    database.pool.off('acquire', onAcquire);
  }
  return count;
}
