/**
 * A database of one's own for a test file: a clone of the migrated template (Postgres), or a
 * PGlite loaded from the migrated dump (fallback). Call in beforeAll, `drop()` in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { backend, withDatabase } from './env';
import { servePglite } from './pglite';

export interface TestDatabase {
  readonly url: string;
  /** Pool size the server side can take: PGlite serves a single connection. */
  readonly poolSize: number;
  drop(): Promise<void>;
}

async function admin<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new database. `migrated: false` gives an empty one (for migrator tests). */
export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  const setup = backend();
  if (setup.kind === 'pglite') {
    const db = await PGlite.create(migrated ? { loadDataDir: new Blob([await readFile(setup.dump)]) } : {});
    const served = await servePglite(db);
    return {
      url: served.url,
      poolSize: 1,
      async drop() {
        await served.stop();
        await db.close();
      },
    };
  }
  const name = `latchkey_test_${setup.runId}_${randomBytes(4).toString('hex')}`;
  await admin(setup.adminUrl, (c) => c.query(`CREATE DATABASE "${name}"${migrated ? ` TEMPLATE "${setup.template}"` : ''}`));
  return {
    url: withDatabase(setup.adminUrl, name),
    poolSize: 5,
    drop: () => admin(setup.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
