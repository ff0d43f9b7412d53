/**
 * No number of rows can take an instance down: with 300k revoked PATs in the database (what
 * unlimited create-then-delete by any member used to pile up), the server, under `npm start`'s
 * own heap cap, starts and reconnects its change feed as it does with none, and works.
 */
import { describeWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, withConnection as sql, type TestDatabase } from '../support/db';
import { post, START_FLAGS, startProcess, type ServerProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

const ROWS = 300_000;
const SECRET = 'a-test-secret-key-that-is-long-enough-0123';
const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

describeWithConcurrentConnections(`${ROWS.toLocaleString('en-US')} revoked PATs`, () => {
  let db: TestDatabase;
  const running = new Set<ServerProcess>();
  const start = async () => {
    const server = await startProcess(
      {
        DATABASE_URL: db.url,
        LATCHKEY_SECRET_KEY: SECRET,
        LATCHKEY_ADMIN_EMAIL: ADMIN.email,
        LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
      },
      START_FLAGS,
    );
    running.add(server);
    return server;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // A first start bootstraps the admin, the organization and a signing key; then the rows.
    const first = await start();
    await first.logged('ready');
    await first.stop();
    running.delete(first);
    await sql(db.url, async (c) => {
      // As a bulk load would: without a notification per row.
      await c.query('SET session_replication_role = replica');
      await c.query(
        `INSERT INTO personal_access_tokens (jti, name, user_id, organization_id, role, kid, family_id, created_at, expires_at, revoked_at, revoked_reason)
         SELECT md5('pat' || i), 'churn', m.user_id, m.organization_id, 'owner', k.kid, md5('pat' || i), now(), now() + interval '30 days', now(), 'revoked'
         FROM generate_series(1, $1::int) AS i, (SELECT user_id, organization_id FROM memberships LIMIT 1) AS m, (SELECT kid FROM signing_keys LIMIT 1) AS k`,
        [ROWS],
      );
    });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all([...running].map((server) => server.stop()));
    await db?.drop();
  });

  it(
    'starts under the heap cap, reconnects its feed, and works, as with none',
    async () => {
      const server = await start();
      await server.logged('ready');
      const listened = () =>
        server.logs.filter((line) => line.msg === 'change feed listening; authentication caches in use').length;
      expect(listened()).toBe(1);

      const login = await post(`${server.url}/api/auth/login`, ADMIN);
      const pat = await post(
        `${server.url}/api/token/`,
        { name: 'after the churn' },
        { Authorization: `Bearer ${login.body.access}` },
      );
      const access = (await post(`${server.url}/api/token/refresh`, { refresh: pat.body.token })).body.access!;
      const whoami = async () =>
        (await fetch(`${server.url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${access}` } }))
          .status;
      expect(await whoami()).toBe(200);

      // The LISTEN connection dies (a Postgres restart, a failover): the feed comes back by itself.
      const killed = await sql(db.url, (c) =>
        c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'latchkey-listen'",
        ),
      );
      expect(killed.rowCount).toBe(1);
      await until('the change feed to listen again', () => listened() === 2);
      expect(await whoami()).toBe(200);
      expect((await post(`${server.url}/api/token/blacklist`, { refresh: pat.body.token })).status).toBe(204);
      expect(await whoami()).toBe(401);
      expect(server.child.exitCode).toBeNull();
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
