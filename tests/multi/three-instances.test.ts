/**
 * Three Latchkey processes sharing one Postgres: a revocation on instance A refuses the
 * derived access tokens on B and C within milliseconds, without B or C asking anyone.
 * (`npm run bench` measures those milliseconds; here we wait for the refusal.)
 */
import { describeWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { post, startProcess, type ServerProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';
const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

const status = async (url: string, token: string) =>
  (await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status;

/**
 * A change is pushed to the other instances (LISTEN/NOTIFY) and arrives in milliseconds. This
 * bound only ends a wait for something that is not coming: generous for a loaded machine, yet
 * short of what a periodic reload (once a minute, say) would need, so polling still fails.
 */
const PUSHED_WITHIN_MS = 30_000;

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

describeWithConcurrentConnections('three instances, one database', () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.url,
      LATCHKEY_SECRET_KEY: SECRET,
      LATCHKEY_ADMIN_EMAIL: ADMIN.email,
      LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
    };
    // Each one kept as soon as it listens, so that afterAll stops it even if another fails to start.
    await Promise.all([0, 1, 2].map(async () => servers.push(await startProcess(env))));
    await Promise.all(servers.map((s) => s.logged('ready')));
  });
  afterAll(async () => {
    try {
      await Promise.all(servers.map((s) => s.stop()));
    } finally {
      await db?.drop();
    }
  });

  it('a PAT revoked on A stops its access tokens on B and C, every time', async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const login = await post(`${a}/api/auth/login`, ADMIN);
    for (let i = 0; i < 20; i++) {
      const pat = (
        await post(`${a}/api/token/`, { name: `pat ${i}` }, { Authorization: `Bearer ${login.body.access}` })
      ).body.token!;
      // Refreshed on B, used on B and C.
      const access = (await post(`${b}/api/token/refresh`, { refresh: pat })).body.access!;
      expect([await status(b, access), await status(c, access)]).toEqual([200, 200]);
      expect((await post(`${a}/api/token/blacklist/`, { refresh: pat })).status).toBe(204);
      await Promise.all(
        [b, c].map((url) =>
          until(
            `${url} refuses the access token of PAT ${i}, revoked on ${a}`,
            async () => (await status(url, access)) === 401,
            PUSHED_WITHIN_MS,
          ),
        ),
      );
    }
  });

  it('an organization setting changed on C applies on A and B', async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const access = (await post(`${c}/api/auth/login`, ADMIN)).body.access!;
    const pat = (await post(`${c}/api/token/`, {}, { Authorization: `Bearer ${access}` })).body.token!;
    const derived = (await post(`${a}/api/token/refresh`, { refresh: pat })).body.access!;
    expect(
      (await post(`${c}/api/jwt/settings`, { api_tokens_enabled: false }, { Authorization: `Bearer ${access}` }))
        .status,
    ).toBe(200);
    for (const url of [a, b])
      await until(
        `${url} applies api_tokens_enabled=false, set on ${c}`,
        async () => (await status(url, derived)) === 401,
        PUSHED_WITHIN_MS,
      );
    expect(
      (await post(`${c}/api/jwt/settings`, { api_tokens_enabled: true }, { Authorization: `Bearer ${access}` })).status,
    ).toBe(200);
  });
});
