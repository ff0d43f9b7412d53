/**
 * `npm start` with no DATABASE_URL: embedded PGlite under the data dir, migrated, first owner
 * created, and everything still there after a restart. Real processes, real signals. How long
 * start-up takes is not asserted here: on a loaded machine it varies tenfold.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, startProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

jest.setTimeout(PROCESS_TEST_TIMEOUT_MS);

describe('embedded mode', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-embedded-'));
  const env = {
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_ADMIN_EMAIL: 'owner@example.com',
    LATCHKEY_ADMIN_PASSWORD: 'correct horse battery',
  };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on a fresh data dir, becomes ready, and stops cleanly on SIGTERM', async () => {
    const server = await startProcess(env);
    try {
      await server.logged('ready');
      // Its readiness check has a deadline of its own, which a loaded machine can miss once.
      await until(`${server.url}/readyz answers 200`, async () => (await fetch(`${server.url}/readyz`)).status === 200);
      const messages = server.logs.map((l) => l.msg);
      expect(messages).toEqual(
        expect.arrayContaining([
          'generated LATCHKEY_SECRET_KEY and stored it in the data dir',
          'embedded database (PGlite) started',
          'migrations applied',
          'created the first organization and its owner',
          'ready',
        ]),
      );
      expect(server.logs.find((l) => l.msg === 'embedded database (PGlite) started')).toMatchObject({
        dataDir: path.join(dataDir, 'pgdata'),
        db: expect.stringMatching(/^127\.0\.0\.1:\d+\/postgres$/),
      });
      expect(statSync(path.join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
      expect(JSON.stringify(server.logs)).not.toContain(readFileSync(path.join(dataDir, 'secret.key'), 'utf8').trim());
      expect(await server.stop()).toBe(0);
      expect(server.logs.at(-1)?.msg).toBe('stopped');
    } finally {
      await server.stop();
    }
  });

  it('keeps its data, schema and secret key across a restart', async () => {
    const secretBefore = readFileSync(path.join(dataDir, 'secret.key'), 'utf8');
    const server = await startProcess(env);
    try {
      await server.logged('ready');
      const messages = server.logs.map((l) => l.msg);
      expect(messages).toContain('database schema up to date');
      expect(messages).not.toContain('created the first organization and its owner');
      expect(messages).not.toContain('generated LATCHKEY_SECRET_KEY and stored it in the data dir');
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop();
    }
    expect(readFileSync(path.join(dataDir, 'secret.key'), 'utf8')).toBe(secretBefore);

    // The bootstrapped owner is still in the database: creating them again is refused.
    const again = await runCli(
      ['create-admin', '--email', 'owner@example.com', '--password', 'another password', '--org', 'Second'],
      { LATCHKEY_DATA_DIR: dataDir },
    );
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toContain('latchkey: a user with email owner@example.com already exists');
    const other = await runCli(
      ['create-admin', '--email', 'second@example.com', '--password', 'another password', '--org', 'Second'],
      { LATCHKEY_DATA_DIR: dataDir },
    );
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toEqual({
      user_id: expect.any(Number),
      email: 'second@example.com',
      organization: { id: expect.any(Number), title: 'Second' },
      role: 'owner',
    });
  });
});
