/**
 * Runs once per `npm test`: migrates a template database that every test file clones
 * (CREATE DATABASE ... TEMPLATE), so each file starts from the real schema in milliseconds.
 * Without a reachable Postgres server it falls back to embedded PGlite, migrates it once and
 * dumps its data dir; each test file then loads that dump into a PGlite of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { servePglite } from '../../src/db/embedded';
import { migrate, readMigrations } from '../../src/db/migrator';
import { BACKEND_VAR, DEFAULT_TEST_DATABASE_URL, withDatabase, type TestBackend } from './env';
import { EXTERNAL_TOOLS } from './tools';

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function migrateAt(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(client, await readMigrations());
  } finally {
    await client.end();
  }
}

async function postgresTemplate(adminUrl: string, runId: string): Promise<TestBackend> {
  const template = `latchkey_test_${runId}_template`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${template}"`);
  await admin.end();
  await migrateAt(withDatabase(adminUrl, template));
  return { kind: 'postgres', adminUrl, template, runId };
}

async function pgliteTemplate(runId: string): Promise<TestBackend> {
  const db = await PGlite.create();
  const served = await servePglite(db);
  await migrateAt(served.url);
  await served.stop();
  const dump = path.join(await mkdtemp(path.join(os.tmpdir(), 'latchkey-test-')), 'template.tar.gz');
  await writeFile(dump, Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer()));
  await db.close();
  return { kind: 'pglite', dump, runId };
}

export default async function globalSetup(): Promise<void> {
  const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const adminUrl = process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const where = new URL(adminUrl).host;
  let setup: TestBackend;
  if (await reachable(adminUrl)) {
    setup = await postgresTemplate(adminUrl, runId);
    process.stdout.write(`\ntests: real Postgres at ${where}; each test file clones a migrated template\n`);
  } else {
    setup = await pgliteTemplate(runId);
    process.stdout.write(
      `\ntests: no Postgres server reachable at ${where} (TEST_DATABASE_URL); running against embedded PGlite instead\n`,
    );
  }
  process.env[BACKEND_VAR] = JSON.stringify(setup);
  for (const tool of EXTERNAL_TOOLS) {
    const reason = tool.skipReason();
    if (reason) process.stdout.write(`tests: ${reason}\n`);
  }
}
