/**
 * The built server's Prometheus exporter: on its own port, bound to loopback, at /metrics
 * (the API has none), and clean under Prometheus's own linter, `promtool check metrics`, once
 * real traffic has filled its labelled series. Skipped, with the reason printed, where
 * promtool is not installed, unless LATCHKEY_REQUIRE_PROMTOOL=1 (CI).
 */
import os from 'node:os';
import { freeLoopbackPort } from '../../src/db/embedded';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { parseExposition } from '../support/exposition';
import { post, startProcess, type ServerProcess } from '../support/process';
import { checkMetrics } from '../support/promtool';
import { promtool } from '../support/tools';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/wait';

const ADMIN = { email: 'admin@example.com', password: 'a long admin password' };

let db: TestDatabase;
let server: ServerProcess;
let metricsUrl: string;
let metricsPort: number;

beforeAll(async () => {
  db = await createTestDatabase();
  metricsPort = await freeLoopbackPort();
  server = await startProcess({
    DATABASE_URL: db.url,
    LATCHKEY_SECRET_KEY: 'a-test-secret-key-that-is-long-enough-0123',
    LATCHKEY_ADMIN_EMAIL: ADMIN.email,
    LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
    LATCHKEY_METRICS_PORT: String(metricsPort),
  });
  metricsUrl = (await server.logged('metrics listening')).url as string;
  await server.logged('ready');
  // Traffic for the labelled series: a success, a refusal, an unknown path.
  const { body } = await post(`${server.url}/api/auth/login`, ADMIN);
  expect(
    (await fetch(`${server.url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${body.access}` } }))
      .status,
  ).toBe(200);
  expect((await fetch(`${server.url}/api/current-user/whoami`)).status).toBe(401);
  expect((await fetch(`${server.url}/no/such/path`)).status).toBe(404);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
}, PROCESS_TEST_TIMEOUT_MS);

describe('the metrics exporter of the built server', () => {
  it('serves /metrics on its own port on 127.0.0.1; the API has no /metrics', async () => {
    expect(metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const exposition = parseExposition(await res.text());
    expect(exposition.value('latchkey_change_feed_up')).toBe(1);
    expect(
      exposition.value('latchkey_http_requests_total', {
        method: 'GET',
        route: '/api/current-user/whoami',
        status: '200',
      }),
    ).toBe(1);
    expect(exposition.value('latchkey_authentications_total', { credential: 'access_token', outcome: 'success' })).toBe(
      1,
    );
    expect(
      exposition.value('latchkey_authentications_total', { credential: 'none', outcome: 'not_authenticated' }),
    ).toBe(1);
    expect(exposition.find('process_resident_memory_bytes')).toHaveLength(1);

    const api = await fetch(`${server.url}/metrics`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { code: string }).code).toBe('not_found');
  });

  it('is not reachable on any other address of the machine', async () => {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .filter((i): i is os.NetworkInterfaceInfo => i !== undefined && i.family === 'IPv4' && !i.internal);
    // A machine with loopback only has nothing else to try.
    for (const { address } of external)
      await expect(fetch(`http://${address}:${metricsPort}/metrics`)).rejects.toThrow();
  });

  promtool.it('passes `promtool check metrics`', async () => {
    const exposition = await (await fetch(metricsUrl)).text();
    // Every kind of series is there: counters, gauges and histograms, with labels.
    expect(exposition).toMatch(/^latchkey_http_request_duration_seconds_bucket\{/m);
    expect(exposition).toMatch(/^latchkey_auth_cache_lookups_total\{/m);
    const { code, output } = await checkMetrics(exposition);
    expect({ code, output }).toEqual({ code: 0, output: '' });
  });
});
