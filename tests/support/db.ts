/**
 * A database of one's own for a test file: a clone of the migrated template (Postgres), or a
 * PGlite loaded from the migrated dump (fallback). Call in beforeAll, `drop()` in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { track } from './children';
import { backend, withDatabase } from './env';

export interface TestDatabase {
  readonly url: string;
  /** Pool size the server side can take: PGlite serves a single connection. */
  readonly poolSize: number;
  drop(): Promise<void>;
}

/** Runs `fn` on a connection of its own to `url` (another instance, psql, an admin), then closes it. */
export async function withConnection<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The fallback: a PGlite server process of this file's own, from the migrated dump or empty. */
function pgliteProcess(dump: string | undefined): Promise<TestDatabase> {
  const child = track(
    spawn(process.execPath, [path.join(__dirname, 'pglite-server.js'), ...(dump ? [dump] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`pglite-server exited with ${code}`)));
    child.stdout.once('data', (line: Buffer) => {
      const { url } = JSON.parse(line.toString()) as { url: string };
      resolve({ url, poolSize: 1, drop: () => (child.kill('SIGTERM'), exited) });
    });
  });
}

/** A new database. `migrated: false` gives an empty one (for migrator tests). */
export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  const setup = backend();
  if (setup.kind === 'pglite') return pgliteProcess(migrated ? setup.dump : undefined);
  const name = `latchkey_test_${setup.runId}_${randomBytes(4).toString('hex')}`;
  await withConnection(setup.adminUrl, (c) =>
    c.query(`CREATE DATABASE "${name}"${migrated ? ` TEMPLATE "${setup.template}"` : ''}`),
  );
  return {
    url: withDatabase(setup.adminUrl, name),
    poolSize: 5,
    drop: () =>
      withConnection(setup.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
