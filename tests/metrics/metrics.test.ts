/**
 * What the app measures, read from its registry's exposition (what the exporter serves):
 * requests by route template and status (never a raw id in a label), authentication outcomes
 * by credential and code, the change feed and the caches. Then the exporter itself, in
 * process: its own loopback port, started and stopped with the server.
 */
import request from 'supertest';
import { freeLoopbackPort } from '../../src/db/embedded';
import { startServer } from '../../src/server';
import { captureLogs, startTestApp, testConfig, type TestApp } from '../support/app';
import { createTestDatabase } from '../support/db';
import { bearer, createMember, createPat, refreshAccess, type Member } from '../support/factories';
import { parseExposition, type Exposition } from '../support/exposition';

/** An id no row has, and that must never appear in a label. */
const RAW_ID = '987654321';

let t: TestApp;
let owner: Member;
let pat: { token: string; id: number };
let access: string;

const scrape = async (): Promise<Exposition> => parseExposition(await t.metrics.exposition());

/** How much `work` moved the sample `name{labels}` (0 where it did not exist). */
async function moved(name: string, labels: Record<string, string>, work: () => Promise<unknown>): Promise<number> {
  const before = (await scrape()).value(name, labels);
  await work();
  return (await scrape()).value(name, labels) - before;
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  pat = await createPat(t, owner);
  access = await refreshAccess(t, pat.token);
});
afterAll(() => t.close());

describe('requests', () => {
  const requests = 'latchkey_http_requests_total';
  const latency = 'latchkey_http_request_duration_seconds';

  it('are counted and timed by route template, method and status', async () => {
    const whoami = { method: 'GET', route: '/api/current-user/whoami', status: '200' };
    const before = (await scrape()).value(`${latency}_count`, whoami);
    expect(
      await moved(requests, whoami, () =>
        request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200),
      ),
    ).toBe(1);
    const after = await scrape();
    expect(after.value(`${latency}_count`, whoami)).toBe(before + 1);
    expect(after.value(`${latency}_bucket`, { ...whoami, le: '+Inf' })).toBe(before + 1);
    expect(after.find(`${latency}_sum`, whoami)[0]!.value).toBeGreaterThan(0);
    expect(after.types.get(latency)).toBe('histogram');
  });

  it('name the template, never the path asked for: an id, a trailing slash, an unknown path', async () => {
    // DELETE /api/token/:id for a PAT that does not exist: 404 from a route that matched.
    expect(
      await moved(requests, { method: 'DELETE', route: '/api/token/:id', status: '404' }, () =>
        request(t.app).delete(`/api/token/${RAW_ID}`).set(bearer(access)).expect(404),
      ),
    ).toBe(1);
    // A method the route does not serve: its JSON 405 is the route's too.
    expect(
      await moved(requests, { method: 'GET', route: '/api/token/:id', status: '405' }, () =>
        request(t.app).get(`/api/token/${RAW_ID}`).expect(405),
      ),
    ).toBe(1);
    expect(
      await moved(requests, { method: 'POST', route: '/api/token/refresh', status: '200' }, () =>
        request(t.app).post('/api/token/refresh/').send({ refresh: pat.token }).expect(200),
      ),
    ).toBe(1);
    expect(
      await moved(requests, { method: 'GET', route: 'unmatched', status: '404' }, () =>
        request(t.app).get(`/no/such/path/${RAW_ID}`).expect(404),
      ),
    ).toBe(1);
    const labels = (await scrape()).samples
      .filter((s) => s.name.startsWith('latchkey_http_'))
      .flatMap((s) => Object.values(s.labels));
    expect(labels.filter((value) => value.includes(RAW_ID) || value.endsWith('/') || value.includes('/no/'))).toEqual(
      [],
    );
  });
});

describe('authentication outcomes', () => {
  const outcomes = 'latchkey_authentications_total';

  it('count each success by credential', async () => {
    expect(
      await moved(outcomes, { credential: 'access_token', outcome: 'success' }, () =>
        request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200),
      ),
    ).toBe(1);
    expect(
      await moved(outcomes, { credential: 'access_token', outcome: 'success' }, () =>
        request(t.app).get('/api/current-user/whoami').set('X-Api-Key', access).expect(200),
      ),
    ).toBe(1);
    expect(
      await moved(outcomes, { credential: 'pat', outcome: 'success' }, () =>
        request(t.app).post('/api/token/refresh').send({ refresh: pat.token }).expect(200),
      ),
    ).toBe(1);
  });

  it.each([
    ['no credentials', 'none', {}, 'not_authenticated'],
    ['a PAT as the Bearer token', 'access_token', { pat: true }, 'refresh_token_as_access'],
    ['a Bearer token that is no JWT', 'access_token', { Authorization: 'Bearer nonsense' }, undefined],
    ['a legacy token that does not exist', 'legacy_token', { Authorization: `Token lkt_${'a'.repeat(36)}` }, undefined],
  ] as const)('count each refusal by its code: %s', async (_title, credential, headers, code) => {
    const sent: Record<string, string> = 'pat' in headers ? bearer(pat.token) : { ...headers };
    const before = await scrape();
    const res = await request(t.app).get('/api/current-user/whoami').set(sent);
    expect(res.status).toBe(401);
    if (code) expect(res.body.code).toBe(code);
    const labels = { credential, outcome: res.body.code as string };
    expect((await scrape()).value(outcomes, labels) - before.value(outcomes, labels)).toBe(1);
  });

  it('count a refused refresh as the PAT credential, by code', async () => {
    const before = await scrape();
    const res = await request(t.app).post('/api/token/refresh').send({ refresh: 'not.a.token' });
    expect(res.status).toBe(401);
    const labels = { credential: 'pat', outcome: res.body.code as string };
    expect((await scrape()).value(outcomes, labels) - before.value(outcomes, labels)).toBe(1);
  });

  it('count nothing where no credential was judged', async () => {
    const total = async () => (await scrape()).find(outcomes).reduce((sum, s) => sum + s.value, 0);
    const before = await total();
    await request(t.app).get('/healthz').expect(200);
    await request(t.app).get('/.well-known/jwks.json').expect(200);
    await request(t.app).post('/api/token/refresh').send({}).expect(400);
    expect(await total()).toBe(before);
  });
});

describe('state', () => {
  it('says the change feed is up', async () => {
    expect((await scrape()).value('latchkey_change_feed_up')).toBe(1);
  });

  it("gives each cache's entries, and counts its hits and misses", async () => {
    const lookups = 'latchkey_auth_cache_lookups_total';
    const pats = { cache: 'personal_access_tokens' };
    await request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200);
    const before = await scrape();
    expect(before.value('latchkey_auth_cache_entries', pats)).toBeGreaterThanOrEqual(1);
    for (const cache of ['sessions', 'legacy_tokens', 'users', 'memberships', 'organizations'])
      expect(before.find('latchkey_auth_cache_entries', { cache })).toHaveLength(1);
    // Warm: the PAT behind the access token is answered from memory.
    await request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200);
    const warm = await scrape();
    expect(warm.value(lookups, { ...pats, result: 'hit' })).toBe(before.value(lookups, { ...pats, result: 'hit' }) + 1);
    expect(warm.value(lookups, { ...pats, result: 'miss' })).toBe(before.value(lookups, { ...pats, result: 'miss' }));
    // A PAT this instance never saw: a miss, then it is cached.
    const other = await createPat(t, owner, { name: 'cold' });
    const missed = await moved(lookups, { ...pats, result: 'miss' }, () => refreshAccess(t, other.token));
    expect(missed).toBe(1);
  });

  it('keeps counting database round trips', async () => {
    expect(
      await moved('latchkey_db_round_trips_total', {}, () => request(t.app).get('/readyz').expect(200)),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('the exposition', () => {
  it('follows the conventions: snake_case names, a HELP and a TYPE for each family, _total only on counters', async () => {
    const exposition = await scrape();
    expect(exposition.types.size).toBeGreaterThan(20);
    for (const [family, type] of exposition.types) {
      expect({ family, snake: /^[a-z][a-z0-9_]*$/.test(family), help: Boolean(exposition.help.get(family)) }).toEqual({
        family,
        snake: true,
        help: true,
      });
      expect({ family, type, total: family.endsWith('_total') }).toEqual({
        family,
        type,
        total: type === 'counter',
      });
    }
  });

  it("has the process's and Node.js's own metrics", async () => {
    const exposition = await scrape();
    for (const family of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(exposition.types.has(family)).toBe(true);
  });

  it('is per app: another app has a registry of its own', async () => {
    const other = await startTestApp();
    try {
      await request(other.app).get(`/no/such/path`).expect(404);
      const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
      const mine = (await scrape()).value('latchkey_http_requests_total', unmatched);
      expect(parseExposition(await other.metrics.exposition()).value('latchkey_http_requests_total', unmatched)).toBe(
        1,
      );
      expect((await scrape()).value('latchkey_http_requests_total', unmatched)).toBe(mine);
    } finally {
      await other.close();
    }
  });
});

describe('the exporter, in process', () => {
  it('listens on its own loopback port, not the API, and stops with the server', async () => {
    const db = await createTestDatabase();
    const port = await freeLoopbackPort();
    const logs = captureLogs();
    const server = await startServer(
      testConfig({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        LATCHKEY_DB_POOL_SIZE: String(db.poolSize),
        LATCHKEY_METRICS_PORT: String(port),
      }),
      logs.logger,
    );
    const url = `http://127.0.0.1:${port}/metrics`;
    try {
      await server.ready;
      const listening = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'metrics listening');
      expect(listening.url).toBe(url);
      await fetch(`${server.url}/api/current-user/whoami`);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const exposition = parseExposition(await res.text());
      expect(exposition.value('latchkey_change_feed_up')).toBe(1);
      expect(
        exposition.value('latchkey_authentications_total', { credential: 'none', outcome: 'not_authenticated' }),
      ).toBe(1);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.stop();
      await db.drop();
    }
    await expect(fetch(url)).rejects.toThrow();
  });

  it('is off with LATCHKEY_METRICS_PORT=0', async () => {
    const db = await createTestDatabase();
    const logs = captureLogs();
    const server = await startServer(
      testConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LATCHKEY_DB_POOL_SIZE: String(db.poolSize) }),
      logs.logger,
    );
    try {
      await server.ready;
      expect(logs.text()).not.toContain('metrics listening');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    } finally {
      await server.stop();
      await db.drop();
    }
  });

  it('refuses to start, naming the variable, when its port is taken', async () => {
    const db = await createTestDatabase();
    const config = testConfig({
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LATCHKEY_DB_POOL_SIZE: String(db.poolSize),
      LATCHKEY_METRICS_PORT: String(await freeLoopbackPort()),
    });
    const first = await startServer(config, captureLogs().logger);
    try {
      await expect(startServer(config, captureLogs().logger)).rejects.toThrow(/LATCHKEY_METRICS_PORT/);
    } finally {
      await first.stop();
      await db.drop();
    }
  });
});
