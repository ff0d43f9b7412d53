import { SETTINGS_DEFAULTS } from '../../src/orgs/settings';
import http from 'node:http';
import { DatabaseUnavailableError, Database } from '../../src/db/database';
import { freeLoopbackPort } from '../../src/db/embedded';
import { changes } from '../../src/audit/changes';
import { bootstrapFirstOwner } from '../../src/orgs/orgs.service';
import { startServer, type RunningServer } from '../../src/server';
import { captureLogs, testConfig } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { itWithConcurrentConnections } from '../support/concurrency';

const get = (url: string) => fetch(url).then(async (res) => ({ status: res.status, body: await res.json() }));

describe('server lifecycle', () => {
  it('listens at once, says 503 on /readyz while the database is unreachable, then fails clearly', async () => {
    const port = await freeLoopbackPort();
    const logs = captureLogs();
    const config = testConfig({
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/latchkey`,
      PORT: '0',
      HOST: '127.0.0.1',
      LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS: '2',
    });
    const server = await startServer(config, logs.logger);
    try {
      expect((await get(`${server.url}/healthz`)).status).toBe(200);
      const ready = await get(`${server.url}/readyz`);
      expect(ready).toMatchObject({
        status: 503,
        body: { code: 'service_unavailable', detail: 'Database is not connected yet.' },
      });
      await expect(server.ready).rejects.toThrow(DatabaseUnavailableError);
      await expect(server.ready).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port}/latchkey unreachable after \\d+ attempts`),
      );
      const retries = logs.lines
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === 'database not reachable yet; retrying');
      expect(retries.length).toBeGreaterThanOrEqual(2);
      expect(retries[1].retryInMs).toBeGreaterThan(retries[0].retryInMs); // backoff
      // It gives up at the deadline: the waits it planned fit in LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS
      // (the last one cut short), whatever the machine's load did to the time they took.
      expect(retries.reduce((sum, r) => sum + r.retryInMs, 0)).toBeLessThanOrEqual(2_000);
    } finally {
      await server.stop();
    }
  });

  describe('against a real database', () => {
    let db: TestDatabase;
    let server: RunningServer;
    beforeEach(async () => {
      db = await createTestDatabase({ migrated: false });
    });
    afterEach(async () => {
      await server?.stop();
      await db.drop();
    });

    it('migrates on start, bootstraps the first owner, and becomes ready', async () => {
      const logs = captureLogs();
      const config = testConfig({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        LATCHKEY_DB_POOL_SIZE: String(db.poolSize),
        LATCHKEY_ADMIN_EMAIL: 'Owner@Example.com',
        LATCHKEY_ADMIN_PASSWORD: 'correct horse battery',
        LATCHKEY_ADMIN_ORG: 'Acme',
      });
      server = await startServer(config, logs.logger);
      await server.ready;
      expect(await get(`${server.url}/readyz`)).toMatchObject({ status: 200 });
      await server.stop();
      const reader = await Database.connect(db.url, {
        poolSize: 1,
        connectTimeoutSeconds: 5,
        logger: captureLogs().logger,
      });
      const { rows } = await reader.pool
        .query(`SELECT u.email, u.password_hash, m.role, o.title, u.active_organization_id = o.id AS active
        FROM users u JOIN memberships m ON m.user_id = u.id JOIN organizations o ON o.id = m.organization_id`);
      await reader.close();
      expect(rows).toEqual([
        {
          email: 'owner@example.com',
          password_hash: expect.stringMatching(/^\$2b\$04\$/),
          role: 'owner',
          title: 'Acme',
          active: true,
        },
      ]);
      expect(logs.text()).not.toContain('correct horse battery');
    });

    it('finishes in-flight requests on stop, then refuses new connections', async () => {
      server = await startServer(
        testConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LATCHKEY_DB_POOL_SIZE: String(db.poolSize) }),
        captureLogs().logger,
      );
      await server.ready;
      const { port } = new URL(server.url);
      // A request whose body is still arriving when shutdown begins.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/slow',
            headers: { 'Content-Type': 'application/json', 'Content-Length': '11' },
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.write('{"a":');
        setTimeout(() => req.end('"bcd"}'), 300);
      });
      await new Promise((r) => setTimeout(r, 100));
      const stopped = server.stop();
      const answer = await response;
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).code).toBe('not_found');
      await stopped;
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    });
  });

  itWithConcurrentConnections('bootstraps exactly one first owner when instances start together', async () => {
    const db = await createTestDatabase();
    const databases = await Promise.all(
      [1, 2, 3].map(() =>
        Database.connect(db.url, { poolSize: 1, connectTimeoutSeconds: 5, logger: captureLogs().logger }),
      ),
    );
    try {
      const owner = {
        email: 'first@example.com',
        passwordHash: 'x',
        organization: 'First',
        settings: SETTINGS_DEFAULTS,
      };
      const results = await Promise.all(databases.map((d) => bootstrapFirstOwner(changes(d.db), owner)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await databases[0]!.prisma.user.count()).toBe(1);
      expect(await databases[0]!.prisma.organization.count()).toBe(1);
    } finally {
      await Promise.all(databases.map((d) => d.close()));
      await db.drop();
    }
  });
});
