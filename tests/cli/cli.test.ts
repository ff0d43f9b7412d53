import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import bcrypt from 'bcrypt';
import { readMigrations } from '../../src/db/migrator';
import { Tagger } from '../../src/secrets';
import { setupCode } from '../../src/setup/setup.service';
import { stopChild, track } from '../support/children';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { CLI, cleanEnv, runCli, startProcess, WORKDIR } from '../support/process';
import { EVENT_TIMEOUT_MS, orTimeout, PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

describe('the latchkey command', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(() => db.drop());
  const env = () => ({ DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: SECRET });

  it('migrate applies pending migrations, then finds nothing to do', async () => {
    const first = await runCli(['migrate'], env());
    expect(first).toMatchObject({
      code: 0,
      stdout: `applied ${(await readMigrations()).map((m) => m.name).join(', ')}\n`,
    });
    expect(await runCli(['migrate'], env())).toMatchObject({ code: 0, stdout: 'database schema up to date\n' });
  });

  it('create-admin creates an organization owned by a new user who can log in with that password', async () => {
    const res = await runCli(
      ['create-admin', '--email', 'Ada@Example.com', '--password', 'analytical engine', '--org', 'Babbage & Co'],
      env(),
    );
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      email: 'ada@example.com',
      organization: { title: 'Babbage & Co' },
      role: 'owner',
    });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query("SELECT password_hash FROM users WHERE email = 'ada@example.com'");
    const audit = await client.query('SELECT action, details FROM audit_events');
    await client.end();
    expect(await bcrypt.compare('analytical engine', rows[0].password_hash)).toBe(true);
    expect(audit.rows).toEqual([
      { action: 'organization.created', details: { owner_user_id: expect.any(Number), via: 'cli' } },
    ]);
  });

  it('create-admin asks for the password on a terminal, twice and not echoed, and names the organization after LATCHKEY_ADMIN_ORG', async () => {
    const password = 'typed at the prompt';
    // util-linux's script(1) gives the command a pseudo-terminal; its output is the terminal's.
    const child = track(
      spawn('script', ['-qec', `${process.execPath} ${CLI} create-admin --email grace@example.com`, '/dev/null'], {
        env: cleanEnv({ ...env(), LATCHKEY_ADMIN_ORG: 'Harvard Mark I' }),
        cwd: WORKDIR,
      }),
    );
    let terminal = '';
    child.stdout.on('data', (c) => (terminal += c));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await until('the first prompt', () => terminal.includes('Password: '));
      child.stdin.write(`${password}\r`);
      await until('the second prompt', () => terminal.includes('Again: '));
      child.stdin.write(`${password}\r`);
      expect(await orTimeout(closed, () => 'create-admin exits')).toBe(0);
    } finally {
      await stopChild(child, 'SIGKILL', EVENT_TIMEOUT_MS);
    }
    expect(terminal).not.toContain(password);
    expect(terminal).toMatch(/"email":"grace@example.com","organization":\{"id":\d+,"title":"Harvard Mark I"\}/);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query("SELECT password_hash FROM users WHERE email = 'grace@example.com'");
    await client.end();
    expect(await bcrypt.compare(password, rows[0].password_hash)).toBe(true);
  });

  it('setup-code prints the code the server logs, from the secret key alone (no database)', async () => {
    const res = await runCli(['setup-code'], {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:9/none',
      LATCHKEY_SECRET_KEY: SECRET,
    });
    expect(res).toMatchObject({ code: 0, stdout: `${setupCode(new Tagger(SECRET))}\n` });
  });

  it('setup-code with an embedded data dir that has no key yet says to start the server, and makes none', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-setup-code-'));
    try {
      const res = await runCli(['setup-code'], { LATCHKEY_DATA_DIR: dataDir });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/no secret key in .* yet: start the server once \(npm start\)/);
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    [['create-admin', '--email', 'x@example.com', '--org', 'X'], /give --password, or run it on a terminal/],
    [['create-admin', '--password', 'long enough'], /missing --email/],
    [
      ['create-admin', '--email', 'x@example.com', '--password', 'short', '--org', 'X'],
      /--password must be at least 8 characters/,
    ],
    [['create-admin', '--email', 'nope', '--password', 'long enough', '--org', 'X'], /--email is not an email address/],
    [['create-admin', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /usage: latchkey <command>/],
  ])('%j is a usage error (exit 64)', async (args, message) => {
    const res = await runCli(args, env());
    expect(res.code).toBe(64);
    expect(res.stdout + res.stderr).toMatch(message);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'postgresql://db/x', LATCHKEY_SECRET_KEY: '' }, 'LATCHKEY_SECRET_KEY'],
    [{ LOG_LEVEL: 'shouty' }, 'LOG_LEVEL'],
  ])('refuses to start with %j: one line naming %s, exit 78', async (bad, variable) => {
    const res = await runCli(['serve'], { ...env(), ...bad });
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(new RegExp(`^latchkey: invalid configuration: ${variable}: [^\\n]+\\n$`));
  });

  it('npm start fails clearly, exit 1, when the database never becomes reachable', async () => {
    const server = await startProcess({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:9/none',
      LATCHKEY_SECRET_KEY: SECRET,
      LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS: '1',
    });
    try {
      expect(await server.exited()).toBe(1);
      expect(server.logs.find((l) => l.msg === 'could not start')).toMatchObject({
        level: 60,
        err: { message: expect.stringMatching(/127\.0\.0\.1:9\/none unreachable/) },
      });
    } finally {
      await server.stop();
    }
  });
});
