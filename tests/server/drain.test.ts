/**
 * SIGTERM under steady keep-alive load: every request sent before the signal is answered
 * (none is reset), answers from then on say `Connection: close`, and the process exits as
 * soon as they are done, not at the end of the grace period.
 */
import http from 'node:http';
import { describeWithConcurrentConnections } from '../support/concurrency';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startProcess, type ServerProcess } from '../support/process';
import { PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

describeWithConcurrentConnections('graceful shutdown', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await db.drop();
  });

  it(
    'drains keep-alive connections: nothing sent before SIGTERM is lost, and it exits once they are answered',
    async () => {
      server = await startProcess({
        DATABASE_URL: db.url,
        LATCHKEY_SECRET_KEY: 'a-test-secret-key-that-is-long-enough-0123',
        LATCHKEY_ADMIN_EMAIL: ADMIN.email,
        LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
        LATCHKEY_SHUTDOWN_GRACE_SECONDS: '60',
      });
      await server.logged('ready');
      const login = (await (
        await fetch(`${server.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(ADMIN),
        })
      ).json()) as { access: string };
      const { port } = new URL(server.url);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      let signalled = false;
      const before = { answered: 0, failed: [] as string[] };
      let closing = 0;

      /** One request; how it ended. */
      const one = () =>
        new Promise<'kept' | 'closed' | 'failed'>((resolve) => {
          const sentBeforeSignal = !signalled;
          const req = http.get(
            {
              host: '127.0.0.1',
              port,
              path: '/api/current-user/whoami',
              agent,
              headers: { Authorization: `Bearer ${login.access}` },
            },
            (res) => {
              res.resume().on('end', () => {
                if (sentBeforeSignal) before.answered++;
                if (res.headers.connection === 'close') closing++;
                resolve(res.headers.connection === 'close' ? 'closed' : 'kept');
              });
            },
          );
          req.on('error', (err) => {
            if (sentBeforeSignal) before.failed.push(err.message);
            resolve('failed');
          });
        });
      // Each worker keeps its connection busy until, after the signal, it is told to close it
      // (or a new connection is refused).
      const worker = async () => {
        while ((await one()) === 'kept' || !signalled);
      };
      const workers = Array.from({ length: 8 }, worker);
      await until('200 answers under load', () => before.answered >= 200);

      signalled = true;
      expect(await server.stop()).toBe(0);
      await Promise.all(workers);
      agent.destroy();

      expect(before.failed).toEqual([]);
      expect(closing).toBeGreaterThan(0);
      const messages = server.logs.map((line) => line.msg);
      expect(messages).toContain('stopped');
      expect(messages).not.toContain('shutdown grace period over; closing open connections');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
