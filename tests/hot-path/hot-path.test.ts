/**
 * The hot path: warm credentials answered from the caches, cold ones with one query,
 * revocations arriving by LISTEN/NOTIFY, and what happens when the feed or the whole database
 * goes away: never a stale answer, a 503 only when the database itself is unreachable.
 */
import request from 'supertest';
import { itWithConcurrentConnections } from '../support/concurrency';
import { startTestApp, type TestApp } from '../support/app';
import { randomBytes } from 'node:crypto';
import { generateLegacyToken, unkeyedLegacyToken } from '../../src/legacy/legacy-token';
import { sha256Hex, Tagger } from '../../src/secrets';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';
import { withConnection } from '../support/db';
import { queriesDuring } from '../support/queries';
import { until } from '../support/wait';

/** A statement from another connection: another instance, the CLI or psql. */
async function elsewhere(t: TestApp, sql: string, params: unknown[]): Promise<void> {
  await withConnection(t.db.url, (client) => client.query(sql, params));
}

const REVOKE = "UPDATE personal_access_tokens SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = $1";
const whoami = (t: TestApp, access: string) => request(t.app).get('/api/current-user/whoami').set(bearer(access));

describe('no database round trip on the hot path', () => {
  let t: TestApp;
  let owner: Member;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await createMember(t, { role: 'owner' });
    await t.database.prisma.organization.update({
      where: { id: owner.organizationId },
      data: { legacyApiTokensEnabled: true },
    });
    await t.state.sync();
  });
  afterAll(() => t.close());

  it('Bearer whoami, X-Api-Key (access and legacy), Token, introspection and forward-auth cost zero queries when warm', async () => {
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    const legacy = (await request(t.app).post('/api/current-user/reset-token').set(bearer(access))).body
      .token as string;
    const calls: [string, () => request.Test][] = [
      ['Bearer whoami', () => whoami(t, access)],
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

  it('refresh: a PAT never seen costs exactly one query (PAT, user, membership and policy together), then none', async () => {
    const { token } = await createPat(t, owner);
    const refresh = () => request(t.app).post('/api/token/refresh').send({ refresh: token }).expect(200);
    expect(await queriesDuring(t.database, refresh)).toBe(1);
    expect(await queriesDuring(t.database, refresh)).toBe(0);
  });

  it('a cold legacy token costs one query, and an unknown one is never cached (each miss is a query, nothing grows)', async () => {
    const legacy = (
      await request(t.app)
        .post('/api/current-user/reset-token')
        .set(bearer(await loginAccess(t, owner)))
    ).body.token as string;
    const use = (token: string) =>
      request(t.app).get('/api/current-user/whoami').set('Authorization', `Token ${token}`);
    expect(await queriesDuring(t.database, () => use(legacy).expect(200))).toBe(1);
    expect(await queriesDuring(t.database, () => use(legacy).expect(200))).toBe(0);
    // One of ours that does not exist (revoked, say): one query per try, and the caches do not grow.
    const gone = generateLegacyToken(t.tags);
    const size = t.state.size;
    for (const token of [gone, gone]) expect(await queriesDuring(t.database, () => use(token).expect(401))).toBe(1);
    expect(t.state.size).toBe(size);
    // A typo, or a stranger's guess (its checksum is not keyed with our secret): no query at all.
    const typo = legacy.slice(0, 4) + (legacy[4] === 'A' ? 'B' : 'A') + legacy.slice(5);
    const guess = generateLegacyToken(new Tagger("not this deployment's secret key at all, no"));
    for (const token of [typo, guess]) expect(await queriesDuring(t.database, () => use(token).expect(401))).toBe(0);
  });

  it('a random session cookie of the right shape costs no lookup: it lacks our keyed tag', async () => {
    const cookie = `latchkey_session=${randomBytes(16).toString('hex')}.${randomBytes(32).toString('base64url')}`;
    let res: request.Response | undefined;
    expect(
      await queriesDuring(
        t.database,
        async () => (res = await request(t.app).get('/api/current-user/whoami').set('Cookie', cookie)),
      ),
    ).toBe(0);
    expect({ status: res!.status, code: res!.body.code }).toEqual({ status: 401, code: 'session_ended' });
  });

  it('old-format legacy tokens (unkeyed CRC32 checksum) cost a lookup each, bounded a minute; warm ones are unaffected', async () => {
    // Four cold lookups a minute: the genuine old token's first use, then three guesses.
    const bounded = await startTestApp({ unkeyedLegacyLookupsPerMinute: 4 });
    try {
      const use = (token: string) =>
        request(bounded.app).get('/api/current-user/whoami').set('Authorization', `Token ${token}`);
      // A token issued before the checksum was keyed still works.
      const member = await createMember(bounded, { role: 'owner' });
      await bounded.database.prisma.organization.update({
        where: { id: member.organizationId },
        data: { legacyApiTokensEnabled: true },
      });
      const old = unkeyedLegacyToken();
      await bounded.database.prisma.legacyToken.create({
        data: {
          userId: member.userId,
          organizationId: member.organizationId,
          tokenHash: sha256Hex(old),
          hint: 'lkt_…old',
        },
      });
      await bounded.state.sync();
      await use(old).expect(200);
      const guesses = Array.from({ length: 4 }, () => unkeyedLegacyToken());
      for (const token of guesses.slice(0, 3))
        expect(await queriesDuring(bounded.database, () => use(token).expect(401))).toBe(1);
      let res: request.Response | undefined;
      expect(await queriesDuring(bounded.database, async () => (res = await use(guesses[3]!)))).toBe(0);
      expect({ status: res!.status, code: res!.body.code, retryAfter: res!.headers['retry-after'] }).toEqual({
        status: 429,
        code: 'rate_limited',
        retryAfter: '60',
      });
      bounded.clock.advance(60);
      expect(await queriesDuring(bounded.database, () => use(guesses[3]!).expect(401))).toBe(1);
      expect(await queriesDuring(bounded.database, () => use(old).expect(200))).toBe(0); // warm: never counted
    } finally {
      await bounded.close();
    }
  });

  it('a change evicts just its key: the next request costs one query and sees it', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await whoami(t, access).expect(200);
    await elsewhere(t, "UPDATE personal_access_tokens SET name = name || ' (renamed)' WHERE id = $1", [pat.id]);
    await t.state.sync();
    expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(1);
    expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(0);
  });

  itWithConcurrentConnections(
    'any change an operator makes in psql reaches the caches: a lowered role, a shortened session, a TRUNCATE; last_used_at alone is not announced',
    async () => {
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      const login = await loginAccess(t, owner);
      await whoami(t, access).expect(200);
      await whoami(t, login).expect(200);

      await elsewhere(t, "UPDATE personal_access_tokens SET role = 'annotator' WHERE id = $1", [pat.id]);
      await until(
        'the access token acts as an annotator',
        async () => (await whoami(t, access)).body.role === 'annotator',
      );
      await elsewhere(t, 'UPDATE personal_access_tokens SET last_used_at = now() WHERE id = $1', [pat.id]);
      await t.state.sync();
      expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(0);

      await elsewhere(t, 'UPDATE sessions SET expires_at = $2 WHERE user_id = $1', [
        owner.userId,
        new Date(t.clock() - 60_000),
      ]);
      await until('the shortened session is refused', async () => (await whoami(t, login)).status === 401);

      const fresh = await loginAccess(t, owner);
      await whoami(t, fresh).expect(200);
      await elsewhere(t, 'TRUNCATE sessions', []);
      await until('the truncated session is refused', async () => (await whoami(t, fresh)).status === 401);
    },
  );

  itWithConcurrentConnections('a revocation committed elsewhere reaches this instance by itself', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await whoami(t, access).expect(200);
    // Another instance (or psql) revokes: this one is not asked, it is told.
    await elsewhere(t, REVOKE, [pat.id]);
    await until('the revoked token is refused', async () => (await whoami(t, access)).status === 401);
    expect((await whoami(t, access)).body.code).toBe('token_blacklisted');
  });
});

describe('when the change feed alone goes away', () => {
  let t: TestApp;
  let owner: Member;
  beforeAll(async () => {
    t = await startTestApp({ feedViaProxy: true });
    owner = await createMember(t, { role: 'owner' });
  });
  afterAll(() => t.close());

  itWithConcurrentConnections(
    'answers from the database meanwhile (one query a request, never stale), then caches again',
    async () => {
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      await whoami(t, access).expect(200);
      expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(0);

      await t.feedProxy!.cut();
      try {
        await until('the feed is lost', () => !t.state.live);
        // Nothing cached is trusted: each request reads the database, and is right.
        expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(1);
        expect(await queriesDuring(t.database, () => whoami(t, access).expect(200))).toBe(1);
        await elsewhere(t, REVOKE, [pat.id]);
        // Refused on the very next request: no notification needed.
        const refused = await whoami(t, access);
        expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'token_blacklisted' });
      } finally {
        await t.feedProxy!.restore();
      }
      await until('the feed listens', () => t.state.live);
      const fresh = await refreshAccess(t, (await createPat(t, owner)).token);
      await whoami(t, fresh).expect(200);
      expect(await queriesDuring(t.database, () => whoami(t, fresh).expect(200))).toBe(0);
      expect((await whoami(t, access)).status).toBe(401);
    },
  );

  itWithConcurrentConnections(
    'a feed that silently stops carrying bytes is noticed by its heartbeat; a revocation made meanwhile is refused',
    async () => {
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      await whoami(t, access).expect(200);
      await until('the feed listens', () => t.state.live);
      t.feedProxy!.freeze();
      await elsewhere(t, REVOKE, [pat.id]);
      // The notification is stuck in the frozen connection; the heartbeat goes unanswered.
      await until('the heartbeat goes unanswered', () => t.logs.text().includes('no heartbeat for'));
      const refused = await whoami(t, access);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'token_blacklisted' });
      await until('the feed listens', () => t.state.live); // reconnected through the proxy by itself
    },
  );

  itWithConcurrentConnections(
    'a write whose own change cannot come back through the feed marks it lost: revoked through this instance, refused at once',
    async () => {
      await until('the feed listens', () => t.state.live);
      const login = await loginAccess(t, owner);
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      await whoami(t, access).expect(200);
      t.feedProxy!.freeze();
      await request(t.app).delete(`/api/token/${pat.id}`).set(bearer(login)).expect(204);
      const refused = await whoami(t, access);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'token_blacklisted' });
      expect(t.logs.text()).toContain('a write could not confirm its change through the feed');
      await until('the feed listens', () => t.state.live);
    },
  );
});

describe('when the database goes away', () => {
  let t: TestApp;
  let owner: Member;
  beforeAll(async () => {
    t = await startTestApp({ viaProxy: true });
    owner = await createMember(t, { role: 'owner' });
  });
  afterAll(() => t.close());

  itWithConcurrentConnections(
    'answers 503 with Retry-After, where it would need the database and on the hot path alike, and recovers by itself',
    async () => {
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      const login = await loginAccess(t, owner);
      await whoami(t, access).expect(200);

      await t.proxy!.cut();
      try {
        await until('the feed is lost', () => !t.state.live);
        for (const res of [
          await whoami(t, access),
          await request(t.app).post('/api/token').set(bearer(login)).send({ name: 'while down' }),
        ]) {
          expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
            status: 503,
            code: 'service_unavailable',
            retryAfter: '1',
          });
        }
      } finally {
        await t.proxy!.restore();
      }
      // Back by itself: the pool reconnects on the next request, the feed by itself.
      await until('the token is accepted again', async () => (await whoami(t, access)).status === 200);
      await until('the feed listens', () => t.state.live);
    },
  );

  itWithConcurrentConnections(
    'a revocation made while the database was unreachable from here is seen once it is back',
    async () => {
      const pat = await createPat(t, owner);
      const access = await refreshAccess(t, pat.token);
      await whoami(t, access).expect(200);
      await t.proxy!.cut();
      try {
        await elsewhere(t, REVOKE, [pat.id]);
      } finally {
        await t.proxy!.restore();
      }
      await until('the database answers again', async () => (await whoami(t, access)).status !== 503);
      expect((await whoami(t, access)).body.code).toBe('token_blacklisted');
    },
  );
});

describe('the metrics', () => {
  it('are not served by the API (the exporter has its own port); they count round trips and say whether the feed is up', async () => {
    const metered = await startTestApp();
    try {
      expect((await request(metered.app).get('/metrics')).status).toBe(404);
      const before = await metered.metrics.exposition();
      expect(before).toContain('\nlatchkey_change_feed_up 1\n');
      const trips = (text: string) => Number(/^latchkey_db_round_trips_total (\d+)$/m.exec(text)![1]);
      await request(metered.app).get('/readyz').expect(200);
      expect(trips(await metered.metrics.exposition())).toBeGreaterThan(trips(before));
    } finally {
      await metered.close();
    }
  });
});
