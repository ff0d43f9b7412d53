/**
 * One process per embedded data dir. PGlite does no locking of its own: a second process on
 * the same files used to "succeed" with writes the running server never saw, or die with
 * `Aborted()`. Real processes, no clocks: each step waits for a log line or an exit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { track } from '../support/children';
import { CLI, WORKDIR, cleanEnv, runCli, startProcess, type Finished } from '../support/process';

const LOCK_FILE = 'latchkey.lock';
const ADMIN = { LATCHKEY_ADMIN_EMAIL: 'owner@example.com', LATCHKEY_ADMIN_PASSWORD: 'correct horse battery' };
// PGlite's first start on a loaded machine; a safety net, not an assertion.
const PROCESS_TEST_TIMEOUT_MS = 180_000;

const inUse = (shownAs: string, pid: number) =>
  `latchkey: the embedded database in ${shownAs} is in use by process ${pid}; stop it, or use the HTTP API\n`;

/**
 * `latchkey serve` run to its exit. A second server is expected to refuse before listening; if
 * it gets as far as listening it is killed (the test has failed; its shutdown is no concern).
 */
function serveToExit(env: Record<string, string>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [CLI, 'serve'], {
        env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
        cwd: WORKDIR,
      }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      if (stdout.includes('"msg":"listening"')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject).on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The pid of a process that has exited (and so is no longer running). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('the embedded data dir is held by one process', () => {
  const dataDirs: string[] = [];
  const freshDataDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-lock-'));
    dataDirs.push(dir);
    return dir;
  };
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it(
    'refuses the CLI and a second server while a server runs, leaves that server unaffected, and lets the CLI in once it stops',
    async () => {
      const dataDir = freshDataDir();
      // As the user wrote it (relative to the CLI's working directory), which the refusal repeats.
      const given = path.relative(WORKDIR, dataDir);
      const server = await startProcess({ LATCHKEY_DATA_DIR: dataDir, ...ADMIN });
      try {
        await server.logged('ready');
        const pid = server.child.pid!;

        const set = await runCli(['settings', 'set', '--org', '1', 'access_token_ttl_seconds=600'], {
          LATCHKEY_DATA_DIR: given,
        });
        expect(set).toEqual({ code: 1, stdout: '', stderr: inUse(given, pid) });
        const rotate = await runCli(['keys', 'rotate'], { LATCHKEY_DATA_DIR: dataDir });
        expect(rotate).toEqual({ code: 1, stdout: '', stderr: inUse(dataDir, pid) });
        const second = await serveToExit({ LATCHKEY_DATA_DIR: dataDir, ...ADMIN });
        expect(second).toEqual({ code: 1, stdout: '', stderr: inUse(dataDir, pid) });

        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).toBe(200);
        const login = await fetch(`${server.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: ADMIN.LATCHKEY_ADMIN_EMAIL, password: ADMIN.LATCHKEY_ADMIN_PASSWORD }),
        });
        expect(login.status).toBe(200);
        const { access } = (await login.json()) as { access: string };
        const settings = await fetch(`${server.url}/api/jwt/settings`, {
          headers: { authorization: `Bearer ${access}` },
        });
        expect(await settings.json()).toMatchObject({ access_token_ttl_seconds: 300 });
      } finally {
        expect(await server.stop()).toBe(0);
      }
      expect(server.logs.at(-1)?.msg).toBe('stopped');
      expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);

      // The refused write never happened; now the CLI has the folder to itself.
      const before = await runCli(['settings', 'get', '--org', '1'], { LATCHKEY_DATA_DIR: dataDir });
      expect(before.code).toBe(0);
      expect(JSON.parse(before.stdout)).toMatchObject({ access_token_ttl_seconds: 300 });
      const set = await runCli(['settings', 'set', '--org', '1', 'access_token_ttl_seconds=600'], {
        LATCHKEY_DATA_DIR: dataDir,
      });
      expect(set.code).toBe(0);
      const after = await runCli(['settings', 'get', '--org', '1'], { LATCHKEY_DATA_DIR: dataDir });
      expect(JSON.parse(after.stdout)).toMatchObject({ access_token_ttl_seconds: 600 });
      expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('refuses before touching a new data dir: no secret key is generated behind a live lock', async () => {
    const dataDir = freshDataDir();
    // Process 1 is always running.
    writeFileSync(path.join(dataDir, LOCK_FILE), '1\n');
    const res = await serveToExit({ LATCHKEY_DATA_DIR: dataDir });
    expect(res).toEqual({ code: 1, stdout: '', stderr: inUse(dataDir, 1) });
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });

  it(
    'takes over the lock of a process that is no longer running, and says so',
    async () => {
      const dataDir = freshDataDir();
      const stale = await deadPid();
      writeFileSync(path.join(dataDir, LOCK_FILE), `${stale}\n`);
      const server = await startProcess({ LATCHKEY_DATA_DIR: dataDir, ...ADMIN });
      try {
        await server.logged('ready');
        expect(server.logs.find((l) => l.msg === 'took over a stale lock on the data dir')).toMatchObject({
          level: 40,
          pid: stale,
          lockFile: path.join(dataDir, LOCK_FILE),
        });
        // The lock is now the server's.
        const res = await runCli(['settings', 'get', '--org', '1'], { LATCHKEY_DATA_DIR: dataDir });
        expect(res).toEqual({ code: 1, stdout: '', stderr: inUse(dataDir, server.child.pid!) });
      } finally {
        expect(await server.stop()).toBe(0);
      }

      // A one-shot command takes over a stale lock too (its log goes to stderr).
      writeFileSync(path.join(dataDir, LOCK_FILE), `${stale}\n`);
      const res = await runCli(['settings', 'get', '--org', '1'], { LATCHKEY_DATA_DIR: dataDir });
      expect(res.code).toBe(0);
      const logs = res.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(logs).toContainEqual(
        expect.objectContaining({ msg: 'took over a stale lock on the data dir', pid: stale }),
      );
      expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
