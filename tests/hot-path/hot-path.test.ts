/**
 * The hot path: authenticated requests answered from memory, revocations arriving by
 * LISTEN/NOTIFY, and what happens when the database goes away and comes back.
 */
import { Client } from 'pg';
import request from 'supertest';
import { itWithConcurrentConnections } from '../support/concurrency';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';
import { queriesDuring } from '../support/queries';

let t: TestApp;
let owner: Member;

beforeAll(async () => {
  t = await startTestApp({ viaProxy: true, env: { LATCHKEY_STALE_GRACE_SECONDS: '5' } });
  owner = await createMember(t, { role: 'owner' });
  await t.database.prisma.organization.update({ where: { id: owner.organizationId }, data: { legacyApiTokensEnabled: true } });
  await t.state.sync();
});
afterAll(() => t.close());

/** Polls until `check` holds; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

describe('no database round trip on the hot path', () => {
  it('Bearer whoami, X-Api-Key (access and legacy), Token, introspection and forward-auth cost zero queries', async () => {
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    const legacy = (await request(t.app).post('/api/current-user/reset-token').set(bearer(access))).body.token as string;
    const calls: [string, () => request.Test][] = [
      ['Bearer whoami', () => request(t.app).get('/api/current-user/whoami').set(bearer(access))],
      ['X-Api-Key access', () => request(t.app).get('/api/current-user/whoami').set('X-Api-Key', access)],
      ['Token legacy', () => request(t.app).get('/api/current-user/whoami').set('Authorization', `Token ${legacy}`)],
      ['X-Api-Key legacy', () => request(t.app).get('/api/current-user/whoami').set('X-Api-Key', legacy)],
      ['introspection', () => request(t.app).post('/api/token/introspect').set(bearer(access)).send({ token: access })],
      ['forward-auth', () => request(t.app).get('/api/auth/verify').set(bearer(access))],
    ];
    for (const [name, call] of calls) {
      expect((await call()).status).toBe(200); // warm
      let status = 0;
      const queries = await queriesDuring(t.database, async () => (status = (await call()).status));
      expect({ name, status, queries }).toEqual({ name, status: 200, queries: 0 });
    }
  });

  it('refresh costs no query once the PAT is known (at most one for a PAT made a moment ago elsewhere)', async () => {
    const { token } = await createPat(t, owner);
    await t.state.sync();
    expect(await queriesDuring(t.database, () => request(t.app).post('/api/token/refresh').send({ refresh: token }).expect(200))).toBe(0);
  });

  itWithConcurrentConnections('a revocation committed elsewhere reaches this instance by itself', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200);
    // Another instance (or psql) revokes: this one is not asked, it is told.
    const elsewhere = new Client({ connectionString: t.db.url });
    await elsewhere.connect();
    try {
      await elsewhere.query("UPDATE personal_access_tokens SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = $1", [pat.id]);
    } finally {
      await elsewhere.end();
    }
    const ms = await within(1_000, async () => (await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status === 401);
    expect(ms).toBeLessThan(1_000);
  });
});

describe('when the database goes away', () => {
  itWithConcurrentConnections('keeps the hot path within the staleness bound, answers 503 quickly where the database is needed, then 503 everywhere, and recovers by itself', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    const login = await loginAccess(t, owner);
    const whoami = () => request(t.app).get('/api/current-user/whoami').set(bearer(access));
    await whoami().expect(200);

    await t.proxy!.cut();
    try {
      // Within the grace: served from memory.
      await within(2_000, async () => (await whoami()).status === 200);
      // Needing the database: a quick 503, not a hang.
      const started = performance.now();
      const create = await request(t.app).post('/api/token').set(bearer(login)).send({ name: 'while down' });
      expect({ status: create.status, code: create.body.code }).toEqual({ status: 503, code: 'service_unavailable' });
      expect(performance.now() - started).toBeLessThan(3_000);
      // Past the grace: it can no longer vouch for revocation state.
      t.clock.advance(6);
      const stale = await whoami();
      expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 503, code: 'service_unavailable' });
      expect(stale.headers['retry-after']).toBe('1');
    } finally {
      await t.proxy!.restore();
    }
    // Back by itself: the feed reconnects and reloads.
    await within(10_000, async () => (await whoami()).status === 200);
  });

  itWithConcurrentConnections('a revocation made while the feed was down is seen after it comes back (reload)', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await request(t.app).get('/api/current-user/whoami').set(bearer(access)).expect(200);
    await t.proxy!.cut();
    const elsewhere = new Client({ connectionString: t.db.url });
    await elsewhere.connect();
    await elsewhere.query("UPDATE personal_access_tokens SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = $1", [pat.id]);
    await elsewhere.end();
    await t.proxy!.restore();
    await within(10_000, async () => (await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status === 401);
  });
});

describe('GET /metrics', () => {
  it('is off by default, and with LATCHKEY_METRICS=true counts round trips and says whether the feed is up', async () => {
    expect((await request(t.app).get('/metrics')).status).toBe(404);
    const metered = await startTestApp({ env: { LATCHKEY_METRICS: 'true' } });
    try {
      const before = await request(metered.app).get('/metrics');
      expect(before.status).toBe(200);
      expect(before.headers['content-type']).toMatch(/^text\/plain/);
      expect(before.text).toContain('latchkey_change_feed_up 1\n');
      const trips = (text: string) => Number(/latchkey_db_round_trips_total (\d+)/.exec(text)![1]);
      await request(metered.app).get('/readyz').expect(200);
      expect(trips((await request(metered.app).get('/metrics')).text)).toBeGreaterThan(trips(before.text));
    } finally {
      await metered.close();
    }
  });
});
