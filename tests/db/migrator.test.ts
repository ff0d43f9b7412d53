import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import {
  DEFAULT_MIGRATIONS_DIR,
  migrate,
  migrationStatus,
  MigrationError,
  readMigrations,
  type Migration,
} from '../../src/db/migrator';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { itWithConcurrentConnections } from '../support/concurrency';

async function connect(db: TestDatabase): Promise<Client> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  return client;
}

const tables = async (client: Client) =>
  (
    await client.query<{ t: string }>(
      'SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1',
    )
  ).rows.map((r) => r.t);

describe('migrator', () => {
  let db: TestDatabase;
  let client: Client;
  let migrations: Migration[];

  beforeEach(async () => {
    db = await createTestDatabase({ migrated: false });
    client = await connect(db);
    migrations = await readMigrations();
  });
  afterEach(async () => {
    await client.end();
    await db.drop();
  });

  it('applies every migration to a fresh database and records it as Prisma does', async () => {
    expect(await migrate(client, migrations)).toEqual(migrations.map((m) => m.name));
    const { rows } = await client.query('SELECT * FROM "_prisma_migrations" ORDER BY started_at');
    expect(rows).toHaveLength(migrations.length);
    const first = migrations[0]!;
    const onDisk = readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, first.name, 'migration.sql'));
    expect(rows[0]).toMatchObject({
      migration_name: first.name,
      checksum: createHash('sha256').update(onDisk).digest('hex'),
      applied_steps_count: 1,
      rolled_back_at: null,
      logs: null,
    });
    expect(rows[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[0].finished_at).toBeInstanceOf(Date);
    expect(await tables(client)).toEqual(
      expect.arrayContaining([
        'organizations',
        'users',
        'personal_access_tokens',
        'legacy_tokens',
        'signing_keys',
        'audit_events',
      ]),
    );
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    await migrate(client, migrations);
    const before = (await client.query('SELECT * FROM "_prisma_migrations"')).rows;
    expect(await migrate(client, migrations)).toEqual([]);
    expect((await client.query('SELECT * FROM "_prisma_migrations"')).rows).toEqual(before);
    expect(await migrationStatus(client, migrations)).toEqual({ applied: migrations.length, pending: [] });
  });

  it('reports pending migrations without applying them', async () => {
    expect(await migrationStatus(client, migrations)).toEqual({ applied: 0, pending: migrations.map((m) => m.name) });
    expect(await tables(client)).toEqual([]);
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    await migrate(client, migrations);
    const edited = migrations.map((m, i) =>
      i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'f'.repeat(64) } : m,
    );
    await expect(migrate(client, edited)).rejects.toThrow(MigrationError);
    await expect(migrate(client, edited)).rejects.toThrow(/was modified after it was applied/);
    await expect(migrationStatus(client, edited)).rejects.toThrow(/was modified/);
  });

  it('refuses to run when an applied migration is missing from the folder', async () => {
    await migrate(client, migrations);
    await expect(migrate(client, [])).rejects.toThrow(/missing from the migrations folder/);
  });

  it('refuses to build on a migration Prisma recorded as failed', async () => {
    await migrate(client, migrations);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, applied_steps_count) VALUES ('00000000-0000-4000-8000-000000000000', 'x', '20990101000000_broken', 0)`,
    );
    await expect(migrate(client, migrations)).rejects.toThrow(/20990101000000_broken failed earlier/);
  });

  it('rolls a failing migration back whole: no partial tables, no bookkeeping row', async () => {
    const broken: Migration = {
      name: '20990101000000_broken',
      sql: 'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;',
      checksum: 'a'.repeat(64),
    };
    await expect(migrate(client, [...migrations, broken])).rejects.toThrow(
      /20990101000000_broken failed: relation "no_such_table" does not exist/,
    );
    expect(await tables(client)).not.toContain('half_done');
    const names = (await client.query('SELECT migration_name FROM "_prisma_migrations"')).rows.map(
      (r) => r.migration_name,
    );
    expect(names).toEqual(migrations.map((m) => m.name));
    // The lock was released: the next run (with the migration fixed) goes through.
    const fixed = { ...broken, sql: 'CREATE TABLE half_done (id int);' };
    expect(await migrate(client, [...migrations, fixed])).toEqual([fixed.name]);
  });

  itWithConcurrentConnections(
    'lets two migrators start together: one applies, the other waits and finds nothing to do',
    async () => {
      const other = await connect(db);
      try {
        const results = await Promise.all([migrate(client, migrations), migrate(other, migrations)]);
        expect(results.map((r) => r.length).sort()).toEqual([0, migrations.length]);
        const { rows } = await client.query(
          'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1',
        );
        expect(rows.every((r) => r.n === 1)).toBe(true);
        expect(rows).toHaveLength(migrations.length);
      } finally {
        await other.end();
      }
    },
  );
});
