/**
 * `npm start` and `latchkey` read a `.env` file from their working directory, before the
 * configuration; a variable set in the environment wins over the file. Each test writes the
 * file into a directory of its own and runs the built command there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { holdPort, runCli, runMain } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

describe('a .env file in the working directory', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  /** A fresh working directory holding `.env` with these lines. */
  const withEnvFile = (...lines: string[]) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-env-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, '.env'), `${lines.join('\n')}\n`);
    return dir;
  };
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('configures the CLI: comments, blank lines, export and quoted values (over several lines) as in Node', async () => {
    const cwd = withEnvFile(
      '# the database',
      `export DATABASE_URL="${db.url}"`,
      '',
      `LATCHKEY_SECRET_KEY='${SECRET}'`,
      // Whole, or it would not be JSON (exit 78).
      "LATCHKEY_DEFAULT_ORG_SETTINGS='{",
      '  "access_token_ttl_seconds": 600',
      "}'",
    );
    expect(await runCli(['migrate'], {}, cwd)).toEqual({ code: 0, stdout: 'database schema up to date\n', stderr: '' });
  });

  it('is read, and the environment wins over it', async () => {
    const cwd = withEnvFile(`DATABASE_URL=${db.url}`, `LATCHKEY_SECRET_KEY=${SECRET}`, 'LOG_LEVEL=shouty');
    const fromFile = await runCli(['migrate'], {}, cwd);
    expect(fromFile.code).toBe(78);
    expect(fromFile.stderr).toMatch(/^latchkey: invalid configuration: LOG_LEVEL: .*\(got "shouty"\)\n$/);
    expect(await runCli(['migrate'], { LOG_LEVEL: 'warn' }, cwd)).toMatchObject({ code: 0 });
  });

  it('configures npm start too: the PORT it names is the one it binds', async () => {
    const held = await holdPort();
    try {
      const cwd = withEnvFile(
        `PORT=${held.port}`,
        'HOST=127.0.0.1',
        `DATABASE_URL=${db.url}`,
        `LATCHKEY_SECRET_KEY=${SECRET}`,
      );
      expect(await runMain({}, cwd)).toEqual({
        code: 1,
        stdout: '',
        stderr: `latchkey: port ${held.port} is in use: stop the other process or set PORT\n`,
      });
    } finally {
      await held.release();
    }
  });

  it('refuses a line that is not NAME=value with its number, not its text (it may be a secret), exit 78', async () => {
    const cwd = withEnvFile(`DATABASE_URL=${db.url}`, `LATCHKEY_SECRET_KEY ${SECRET}`);
    expect(await runCli(['migrate'], {}, cwd)).toEqual({
      code: 78,
      stdout: '',
      stderr: 'latchkey: invalid configuration: .env: line 2 is not NAME=value, a # comment or blank\n',
    });
  });
});
