/**
 * What the database's absence looks like from inside, produced for real (a proxy cut in the
 * middle of a transaction, an expired transaction, an exhausted pool, a raw query against a
 * cut connection): every one is classified as "unavailable", so it is a 503, never a 500.
 */
import { Database } from '../../src/db/database';
import { isDatabaseUnavailable, toAppError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { itWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startProxy, type CuttableProxy } from '../support/proxy';

let db: TestDatabase;
let proxy: CuttableProxy;
let database: Database;

beforeAll(async () => {
  db = await createTestDatabase();
  const direct = new URL(db.url);
  proxy = await startProxy(direct.hostname, Number(direct.port || 5432));
  database = await Database.connect(Object.assign(new URL(db.url), { port: String(proxy.port) }).toString(), {
    poolSize: 2,
    connectTimeoutSeconds: 5,
    logger: createLogger('silent'),
  });
});
afterAll(async () => {
  await database.close().catch(() => undefined);
  await proxy.close();
  await db.drop();
});

const caught = (work: () => Promise<unknown>) =>
  work().then(
    () => undefined,
    (err: unknown) => err,
  );

function expectUnavailable(err: unknown) {
  expect(err).toBeDefined();
  expect(isDatabaseUnavailable(err)).toBe(true);
  expect({ status: toAppError(err).status, retryAfter: toAppError(err).options.headers?.['Retry-After'] }).toEqual({
    status: 503,
    retryAfter: '1',
  });
}

itWithConcurrentConnections(
  'a connection closed in the middle of a transaction (P1017, ConnectionClosed)',
  async () => {
    const err = await caught(() =>
      database.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await proxy.cut();
        await tx.$queryRaw`SELECT 2`;
      }),
    );
    await proxy.restore();
    expectUnavailable(err);
  },
);

itWithConcurrentConnections(
  'a raw query that cannot reach the server (P2010 with a driver adapter cause)',
  async () => {
    await proxy.cut();
    try {
      expectUnavailable(await caught(() => database.prisma.$queryRaw`SELECT 1`));
      expectUnavailable(await caught(() => database.prisma.user.findFirst()));
    } finally {
      await proxy.restore();
    }
  },
);

it('a query on an expired transaction (P2028)', async () => {
  const err = await caught(() =>
    database.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_sleep(0.3)`;
        await tx.$queryRaw`SELECT 1`;
      },
      { timeout: 100 },
    ),
  );
  expectUnavailable(err);
});

it("pg's pool timing out while waiting for a connection", async () => {
  const small = await Database.connect(db.url, {
    poolSize: 1,
    connectTimeoutSeconds: 5,
    logger: createLogger('silent'),
  });
  (small.pool.options as { connectionTimeoutMillis: number }).connectionTimeoutMillis = 50;
  const held = await small.pool.connect();
  try {
    expectUnavailable(await caught(() => small.prisma.user.findFirst()));
  } finally {
    held.release();
    await small.close();
  }
});

it('a bad query is not mistaken for an outage', async () => {
  const err = await caught(() => database.prisma.$queryRawUnsafe('SELECT * FROM no_such_table'));
  expect(isDatabaseUnavailable(err)).toBe(false);
  expect(toAppError(err).status).toBe(500);
});
