import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { backend } from './env';

/** Drops this run's template and any test database a crashed file left behind. */
export default async function globalTeardown(): Promise<void> {
  const setup = backend();
  if (setup.kind === 'pglite') {
    await rm(path.dirname(setup.dump), { recursive: true, force: true });
    return;
  }
  const admin = new Client({ connectionString: setup.adminUrl });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
    `latchkey\\_test\\_${setup.runId}\\_%`,
  ]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await admin.end();
}
