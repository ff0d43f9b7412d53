/**
 * Three Latchkey processes sharing one Postgres: a revocation on instance A refuses the
 * derived access tokens on B and C within milliseconds, without B or C asking anyone.
 */
import { describeWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startProcess, waitFor200, type ServerProcess } from '../support/process';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';
const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, string>) };
};
const status = async (url: string, token: string) => (await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status;

describeWithConcurrentConnections('three instances, one database', () => {
  let db: TestDatabase;
  let servers: ServerProcess[];

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: SECRET, LATCHKEY_ADMIN_EMAIL: ADMIN.email, LATCHKEY_ADMIN_PASSWORD: ADMIN.password };
    servers = await Promise.all([0, 1, 2].map(() => startProcess(env)));
    await Promise.all(servers.map((s) => waitFor200(`${s.url}/readyz`)));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  });

  it('a PAT revoked on A stops its access tokens on B and C at once', async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const login = await post(`${a}/api/auth/login`, ADMIN);
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const pat = (await post(`${a}/api/token/`, { name: `pat ${i}` }, { Authorization: `Bearer ${login.body.access}` })).body.token!;
      // Refreshed on B, used on B and C.
      const access = (await post(`${b}/api/token/refresh`, { refresh: pat })).body.access!;
      expect([await status(b, access), await status(c, access)]).toEqual([200, 200]);
      const started = performance.now();
      expect((await post(`${a}/api/token/blacklist/`, { refresh: pat })).status).toBe(204);
      await Promise.all(
        [b, c].map(async (url) => {
          while ((await status(url, access)) !== 401) {
            if (performance.now() - started > 2_000) throw new Error(`${url} still accepts a revoked PAT's access token after 2 s`);
          }
        }),
      );
      delays.push(performance.now() - started);
    }
    delays.sort((x, y) => x - y);
    // The benchmark measures this properly; here: well under a second, every time.
    expect(delays[delays.length - 1]).toBeLessThan(1_000);
  });

  it('an organization setting changed on C applies on A and B', async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const access = (await post(`${c}/api/auth/login`, ADMIN)).body.access!;
    const pat = (await post(`${c}/api/token/`, {}, { Authorization: `Bearer ${access}` })).body.token!;
    const derived = (await post(`${a}/api/token/refresh`, { refresh: pat })).body.access!;
    expect((await post(`${c}/api/jwt/settings`, { api_tokens_enabled: false }, { Authorization: `Bearer ${access}` })).status).toBe(200);
    for (const url of [a, b]) {
      const started = performance.now();
      while ((await status(url, derived)) !== 401) if (performance.now() - started > 2_000) throw new Error(`${url} ignored the setting`);
    }
    expect((await post(`${c}/api/jwt/settings`, { api_tokens_enabled: true }, { Authorization: `Bearer ${access}` })).status).toBe(200);
  });
});
