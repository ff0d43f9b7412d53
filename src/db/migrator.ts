/**
 * Applies the hand-written SQL migrations under `prisma/migrations/` and records them in
 * `_prisma_migrations` exactly as Prisma Migrate does (same table, same SHA-256 checksum of
 * `migration.sql`, same advisory lock), so `prisma migrate status` and `deploy` agree with us
 * on any machine that has Prisma's schema engine.
 *
 * Differences from Prisma, both deliberate: each migration runs in one transaction together
 * with its bookkeeping row, so a failed migration leaves nothing behind (no P3009 "failed
 * migration" state to resolve by hand); and we refuse, rather than warn, when an applied
 * migration's file changed or vanished.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClientBase, QueryConfig } from 'pg';
import { ProcessError } from '../process-errors';

/** Prisma Migrate's own advisory lock key, so our migrator and `prisma migrate deploy` exclude each other. */
export const MIGRATION_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

export class MigrationError extends ProcessError {
  readonly code = 'migration_failed';
  override readonly name = 'MigrationError';
}

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Prisma's DDL for its bookkeeping table, verbatim in shape. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export const checksum = (sql: string | Buffer) => createHash('sha256').update(sql).digest('hex');

/** Reads `<dir>/<timestamp>_<name>/migration.sql`, in name order as Prisma does. */
export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(path.join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: checksum(bytes) };
    }),
  );
}

async function appliedRows(client: ClientBase): Promise<AppliedRow[] | undefined> {
  const { rows: exists } = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS ok`,
  );
  if (!exists[0]?.ok) return undefined;
  const { rows } = await client.query<AppliedRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  );
  return rows;
}

/** Compares disk and database; throws on anything Prisma would also refuse to build on. */
function plan(migrations: readonly Migration[], rows: readonly AppliedRow[]): Migration[] {
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.find((r) => r.finished_at === null);
  if (failed)
    throw new MigrationError(
      `migration ${failed.migration_name} failed earlier and was never finished; resolve it before migrating`,
    );
  const onDisk = new Map(migrations.map((m) => [m.name, m]));
  for (const row of live) {
    const migration = onDisk.get(row.migration_name);
    if (!migration)
      throw new MigrationError(
        `migration ${row.migration_name} is applied in the database but missing from the migrations folder`,
      );
    if (migration.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.migration_name} was modified after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${migration.checksum.slice(0, 12)}… on disk)`,
      );
    }
  }
  const applied = new Set(live.map((r) => r.migration_name));
  return migrations.filter((m) => !applied.has(m.name));
}

export interface MigrationStatus {
  readonly applied: number;
  readonly pending: readonly string[];
}

/** Read-only: what `migrate` would do. Throws MigrationError where `migrate` would refuse. */
export async function migrationStatus(client: ClientBase, migrations: readonly Migration[]): Promise<MigrationStatus> {
  const rows = (await appliedRows(client)) ?? [];
  const pending = plan(migrations, rows);
  return { applied: migrations.length - pending.length, pending: pending.map((m) => m.name) };
}

/**
 * Waiting for another instance's migrations, and a migration itself, may take far longer than
 * the pool's per-statement timeout, which is for requests.
 */
const MIGRATION_TIMEOUT_MS = 24 * 3600 * 1000;
/** pg reads `query_timeout` from a query's config, though its types do not declare it. */
const unbounded = (text: string, values?: unknown[]): QueryConfig =>
  ({ text, values, query_timeout: MIGRATION_TIMEOUT_MS }) as QueryConfig;

/**
 * Brings the database up to date. Safe to run from several processes at once: they queue on
 * the advisory lock and the later ones find nothing to do. Returns the names it applied.
 */
export async function migrate(client: ClientBase, migrations: readonly Migration[]): Promise<string[]> {
  await client.query(unbounded('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]));
  try {
    await client.query(CREATE_MIGRATIONS_TABLE);
    const pending = plan(migrations, (await appliedRows(client)) ?? []);
    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        const id = randomUUID();
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, migration.checksum, migration.name],
        );
        await client.query(unbounded(migration.sql));
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return pending.map((m) => m.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
