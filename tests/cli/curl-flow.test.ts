/**
 * The seed's curl recipe, run as real curl processes against a real listening server
 * (`dist/main.js`, as `npm start` runs it), with the owner from LATCHKEY_ADMIN_* and a key
 * rotated by `latchkey keys rotate` while it runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { track } from '../support/children';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { runCli, startProcess, type ServerProcess } from '../support/process';
import { EVENT_TIMEOUT_MS, PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

const run = promisify(execFile);
const SECRET = 'a-test-secret-key-that-is-long-enough-0123';
const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

async function curl(...args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const running = run('curl', ['-s', '--max-time', String(EVENT_TIMEOUT_MS / 1000), '-w', '\n%{http_code}', ...args]);
  track(running.child);
  const { stdout } = await running;
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: JSON.parse(stdout.slice(0, nl) || '{}') };
}

describe('the curl flow against a running server', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const env = () => ({
    DATABASE_URL: db.url,
    LATCHKEY_SECRET_KEY: SECRET,
    LATCHKEY_ADMIN_EMAIL: ADMIN.email,
    LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
  });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    server = await startProcess(env());
    await server.logged('ready');
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  let pat: string;

  it('logs the bootstrapped owner in and creates a PAT', async () => {
    const login = await curl(
      '-X',
      'POST',
      `${server.url}/api/auth/login`,
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify(ADMIN),
    );
    expect(login.status).toBe(200);
    const created = await curl(
      '-X',
      'POST',
      `${server.url}/api/token/`,
      '-H',
      `Authorization: Bearer ${login.body.access}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"name": "curl"}',
    );
    expect(created.status).toBe(201);
    pat = created.body.token as string;
  });

  it('refreshes exactly as Label Studio’s documentation shows, then calls the API with the access token', async () => {
    const refreshed = await curl(
      '-X',
      'POST',
      `${server.url}/api/token/refresh`,
      '-H',
      'Content-Type: application/json',
      '-d',
      `{"refresh": "${pat}"}`,
    );
    expect(refreshed.status).toBe(200);
    const whoami = await curl(
      `${server.url}/api/current-user/whoami`,
      '-H',
      `Authorization: Bearer ${refreshed.body.access}`,
    );
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ email: ADMIN.email, role: 'owner' });
  });

  it('keeps old PATs working after `latchkey keys rotate`, and the running server signs with the new key at once', async () => {
    const rotated = await runCli(['keys', 'rotate'], { DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: SECRET });
    expect(rotated.code).toBe(0);
    const { kid } = JSON.parse(rotated.stdout) as { kid: string };
    const listed = await runCli(['keys', 'list'], { DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: SECRET });
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).state),
    ).toEqual(['verifying', 'signing']);
    const refreshed = await curl(
      '-X',
      'POST',
      `${server.url}/api/token/refresh`,
      '-H',
      'Content-Type: application/json',
      '-d',
      `{"refresh": "${pat}"}`,
    );
    expect(refreshed.status).toBe(200);
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The change feed tells the running server; it signs with the new key from then on.
    const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;
    await until('the running server signs with the rotated key', async () => {
      const next = await curl(
        '-X',
        'POST',
        `${server.url}/api/token/refresh`,
        '-H',
        'Content-Type: application/json',
        '-d',
        `{"refresh": "${pat}"}`,
      );
      return kidOf(next.body.access as string) === kid;
    });
  });

  it('refuses the PAT as a Bearer token with the helpful 401', async () => {
    const res = await curl(`${server.url}/api/current-user/whoami`, '-H', `Authorization: Bearer ${pat}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('refresh_token_as_access');
  });

  it('refuses to start under another LATCHKEY_SECRET_KEY: the signing key does not open', async () => {
    const other = await startProcess({ DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: 'x'.repeat(40) });
    try {
      expect(await other.exited()).toBe(1);
      expect(JSON.stringify(other.logs)).toMatch(/LATCHKEY_SECRET_KEY is not the key it was encrypted with/);
    } finally {
      await other.stop();
    }
  });
});
