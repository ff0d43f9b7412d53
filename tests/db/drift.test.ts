import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { checkDrift, DEFAULT_SCHEMA_PATH, expectedShape } from '../support/drift';
import { migrate, readMigrations, type Migration } from '../../src/db/migrator';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** Applies `migrations` to a new empty database and returns what the drift check says. */
async function driftAfter(migrations: Migration[], schemaPath = DEFAULT_SCHEMA_PATH): Promise<string[]> {
  const db: TestDatabase = await createTestDatabase({ migrated: false });
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await migrate(client, migrations);
    return await checkDrift(client, schemaPath);
  } finally {
    await client.end();
    await db.drop();
  }
}

function editFirst(migrations: Migration[], edit: (sql: string) => string): Migration[] {
  const [first, ...rest] = migrations;
  const sql = edit(first!.sql);
  expect(sql).not.toBe(first!.sql); // the edit must actually change something
  return [{ ...first!, sql }, ...rest];
}

describe('drift between schema.prisma and the migrations', () => {
  let migrations: Migration[];
  beforeAll(async () => {
    migrations = await readMigrations();
  });

  it('finds none: the migrations build exactly the schema', async () => {
    expect(await driftAfter(migrations)).toEqual([]);
  });

  it('catches a column deleted from a migration', async () => {
    const drift = await driftAfter(
      editFirst(migrations, (sql) => sql.replace(/^\s*"last_used_at" TIMESTAMPTZ\(3\),\n/m, '')),
    );
    expect(drift).toEqual(['column personal_access_tokens.last_used_at: in schema.prisma, missing from the database']);
  });

  it('catches a changed type, nullability and default', async () => {
    const drift = await driftAfter(
      editFirst(migrations, (sql) =>
        sql
          .replace('"jti" CHAR(32) NOT NULL', '"jti" TEXT NOT NULL')
          .replace('"ended_at" TIMESTAMPTZ(3),', '"ended_at" TIMESTAMPTZ(3) NOT NULL,')
          .replace(
            '"access_token_ttl_seconds" INTEGER NOT NULL DEFAULT 300',
            '"access_token_ttl_seconds" INTEGER NOT NULL DEFAULT 600',
          ),
      ),
    );
    expect(drift).toEqual([
      expect.stringMatching(/^column organizations\.access_token_ttl_seconds: .*"default":"300".*"default":"600"/),
      expect.stringMatching(/^column personal_access_tokens\.jti: .*"character\(32\)".*"text"/),
      expect.stringMatching(/^column sessions\.ended_at: .*"nullable":true.*"nullable":false/),
    ]);
  });

  it('catches a missing index, a missing foreign key and an extra table', async () => {
    const drift = await driftAfter([
      ...editFirst(migrations, (sql) =>
        sql
          .replace(/-- CreateIndex\nCREATE UNIQUE INDEX "legacy_tokens_token_hash_key"[^\n]*\n/, '')
          .replace(/-- AddForeignKey\nALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey"[^\n]*\n/, ''),
      ),
      { name: '20991231000000_stray', sql: 'CREATE TABLE stray (id int);', checksum: '0'.repeat(64) },
    ]);
    expect(drift.sort()).toEqual([
      'foreign key sessions_user_id_fkey: in schema.prisma, missing from the database',
      'index legacy_tokens_token_hash_key: in schema.prisma, missing from the database',
      'table stray: in the database, missing from schema.prisma',
    ]);
  });

  it('catches a model in schema.prisma that no migration creates', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-schema-'));
    const schemaPath = path.join(dir, 'schema.prisma');
    writeFileSync(
      schemaPath,
      `${readFileSync(DEFAULT_SCHEMA_PATH, 'utf8')}\nmodel Widget {\n  id Int @id\n\n  @@map("widgets")\n}\n`,
    );
    try {
      expect((await driftAfter(migrations, schemaPath)).sort()).toEqual([
        'index widgets_pkey: in schema.prisma, missing from the database',
        'table widgets: in schema.prisma, missing from the database',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses schema constructs it does not understand instead of skipping them', () => {
    const postgres = 'datasource db {\n  provider = "postgresql"\n}\n';
    // Prisma's parser rejects what is not PSL; what is PSL but not translated here is refused here.
    const schema = `${postgres}model Thing {\n  id Int @id @somethingNew\n}\n`;
    expect(() => expectedShape(schema)).toThrow(/Attribute not known: "@somethingNew"/);
    expect(() => expectedShape(`${postgres}model Thing {\n  id Int @id\n  tags String[]\n}\n`)).toThrow(/scalar lists/);
  });
});
