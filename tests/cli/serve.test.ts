/**
 * What `npm start` says as it starts: where it listens (the address actually bound and, on
 * every interface, the URLs it is reachable at), in lines for a person or for a machine, and a
 * port it cannot have as one line, before it writes anything to a new data dir.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopChild, track } from '../support/children';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { cleanEnv, holdPort, MAIN, runMain, startProcess, WORKDIR } from '../support/process';
import { EVENT_TIMEOUT_MS, orTimeout, PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

const SECRET = 'a-test-secret-key-that-is-long-enough-0123';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

describe('npm start', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  /** A data dir that does not exist yet, in a directory that does. */
  const newDataDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-serve-'));
    dirs.push(dir);
    return path.join(dir, 'data');
  };
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const external = () => ({ DATABASE_URL: db.url, LATCHKEY_SECRET_KEY: SECRET });

  it.each([
    ['PORT', (port: number) => ({ PORT: String(port) }), ''],
    [
      'LATCHKEY_METRICS_PORT',
      (port: number) => ({ PORT: '0', LATCHKEY_METRICS_PORT: String(port) }),
      ' (0 turns the exporter off)',
    ],
  ])(
    'refuses a %s in use with one line saying what to do, exit 1, before creating its data dir',
    async (variable, settings, hint) => {
      const held = await holdPort();
      const dataDir = newDataDir();
      try {
        const res = await runMain({ HOST: '127.0.0.1', LATCHKEY_DATA_DIR: dataDir, ...settings(held.port) });
        expect(res).toEqual({
          code: 1,
          stdout: '',
          stderr: `latchkey: port ${held.port} is in use: stop the other process or set ${variable}${hint}\n`,
        });
      } finally {
        await held.release();
      }
      // No secret key generated, no PGlite initdb: not even the folder.
      expect(existsSync(dataDir)).toBe(false);
    },
  );

  it('names the address it bound', async () => {
    const server = await startProcess(external());
    try {
      const listening = await server.logged('listening');
      const { port } = new URL(server.url);
      expect(listening).toMatchObject({ address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` });
      expect(listening).not.toHaveProperty('urls');
    } finally {
      await server.stop();
    }
  });

  it('bound to every interface (0.0.0.0), names the URLs it is reachable at, loopback first', async () => {
    const server = await startProcess({ ...external(), HOST: '0.0.0.0' });
    try {
      const listening = await server.logged('listening');
      const port = Number((listening.address as string).split(':').at(-1));
      expect(listening).toMatchObject({ address: `0.0.0.0:${port}`, url: `http://127.0.0.1:${port}` });
      const urls = listening.urls as string[];
      expect(urls[0]).toBe(`http://127.0.0.1:${port}`);
      const own = Object.values(os.networkInterfaces())
        .flatMap((list) => list ?? [])
        .filter((i) => i.family === 'IPv4')
        .map((i) => `http://${i.address}:${port}`);
      expect([...urls].sort()).toEqual([...new Set(own)].sort());
      for (const url of urls) expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('with LOG_FORMAT=pretty, writes a readable line per event (no JSON, no colours off a terminal)', async () => {
    const child = track(
      spawn(process.execPath, [MAIN], {
        env: cleanEnv({ ...external(), PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'pretty' }),
        cwd: WORKDIR,
      }),
    );
    let stdout = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (/ INFO: ready\b/.test(stdout)) resolve();
      });
      child.once('close', (code) => reject(new Error(`exited (${code}) before ready: ${stdout}`)));
    });
    const closed = new Promise((resolve) => child.once('close', resolve));
    try {
      await orTimeout(ready, () => `the server logs "ready" (stdout: ${stdout})`);
    } finally {
      const { killed } = await stopChild(child, 'SIGTERM', EVENT_TIMEOUT_MS);
      expect(killed).toBe(false);
    }
    await closed;
    expect(stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening \{"address":"127\.0\.0\.1:\d+","url":/m);
    expect(stdout).toMatch(/^\[[\d:.]+\] INFO: stopped$/m);
    expect(stdout).not.toContain('\u001b[');
    for (const line of stdout.trimEnd().split('\n')) expect(line).toMatch(/^\[[\d:.]+\] (INFO|WARN): /);
  });
});
