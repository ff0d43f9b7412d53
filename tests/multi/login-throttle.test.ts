/**
 * Failed-login limits shared by two Latchkey processes on one Postgres: wrong passwords count
 * the same whichever instance they reach, one client's guesses lock out that client and not
 * the account's owner, and the slower per-account limit holds across clients. Client
 * addresses are simulated with X-Forwarded-For (`LATCHKEY_TRUST_PROXY=loopback`).
 */
import { describeWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startProcess, type ServerProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';
const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };
const PASSWORD = 'the right password';
const ATTACKER = '203.0.113.7';
const OWNER_ADDRESS = '198.51.100.20';

interface Answer {
  status: number;
  code: string | undefined;
  retryAfter: number | undefined;
}

async function login(url: string, email: string, password: string, ip: string): Promise<Answer> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ip },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { code?: string };
  const retryAfter = res.headers.get('retry-after');
  return { status: res.status, code: body.code, retryAfter: retryAfter === null ? undefined : Number(retryAfter) };
}

describeWithConcurrentConnections('failed-login limits across two instances', () => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];
  let urls: [string, string];

  /** A new member of the admin's organization, made over HTTP. */
  async function member(email: string): Promise<string> {
    const access = (
      (await (
        await fetch(`${urls[0]}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '192.0.2.1' },
          body: JSON.stringify(ADMIN),
        })
      ).json()) as { access: string }
    ).access;
    const res = await fetch(`${urls[0]}/api/organizations/1/memberships`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access}` },
      body: JSON.stringify({ email, role: 'annotator', password: PASSWORD }),
    });
    expect(res.status).toBe(201);
    return email;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.url,
      LATCHKEY_SECRET_KEY: SECRET,
      LATCHKEY_ADMIN_EMAIL: ADMIN.email,
      LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
      LATCHKEY_TRUST_PROXY: 'loopback',
    };
    const started = await Promise.allSettled([0, 1].map(() => startProcess(env)));
    servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    await Promise.all(servers.map((s) => s.logged('ready')));
    urls = servers.map((s) => s.url) as [string, string];
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it('one client gets 10 wrong passwords per account in all, on either instance; then 429 with Retry-After on both, while the owner logs in from elsewhere', async () => {
    const email = await member('victim-a@example.com');
    for (let i = 0; i < 10; i++) expect((await login(urls[i % 2]!, email, `wrong ${i}`, ATTACKER)).status).toBe(401);
    for (const url of urls) {
      for (const password of ['wrong again', PASSWORD]) {
        const refused = await login(url, email, password, ATTACKER);
        expect({ status: refused.status, code: refused.code }).toEqual({ status: 429, code: 'rate_limited' });
        expect(refused.retryAfter).toBeGreaterThan(0);
        expect(refused.retryAfter).toBeLessThanOrEqual(15 * 60);
      }
      expect((await login(url, email, PASSWORD, OWNER_ADDRESS)).status).toBe(200);
    }
  });

  it('the per-account limit (50 failures an hour) holds across clients and instances, the right password included', async () => {
    const email = await member('victim-c@example.com');
    for (let client = 0; client < 5; client++) {
      for (let i = 0; i < 10; i++)
        expect((await login(urls[(client + i) % 2]!, email, 'wrong', `203.0.113.${100 + client}`)).status).toBe(401);
    }
    for (const url of urls) {
      for (const [password, ip] of [
        [PASSWORD, OWNER_ADDRESS],
        ['wrong', '203.0.113.200'],
      ] as const) {
        const refused = await login(url, email, password, ip);
        expect({ status: refused.status, code: refused.code }).toEqual({ status: 429, code: 'rate_limited' });
        expect(refused.retryAfter).toBeGreaterThan(15 * 60);
        expect(refused.retryAfter).toBeLessThanOrEqual(60 * 60);
      }
    }
    // Another account is not affected, from the same clients.
    const other = await member('bystander@example.com');
    expect((await login(urls[1], other, PASSWORD, '203.0.113.100')).status).toBe(200);
  });
});
