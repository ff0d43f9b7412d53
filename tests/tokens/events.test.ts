/**
 * The revocation stream, GET /api/token/events, over real HTTP (Server-Sent Events): who may
 * open it, which changes reach it (each made the way a client or an operator makes it), that
 * an organization sees only its own events, resumption with Last-Event-ID, the reset for an id
 * the log cannot vouch for, pruning, the cap on open streams and the end on shutdown.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { rotateSigningKey } from '../../src/keys/keyring';
import { TOKEN_EVENT_RETENTION_SECONDS } from '../../src/limits';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  refreshAccess,
  withOrganization,
  type Member,
} from '../support/factories';
import { dataOf, openEventStream, type OpenStream } from '../support/sse';

const STREAMS_MAX = 4;

let t: TestApp;
let server: http.Server;
let base: string;
let owner: Member;
let outsider: Member;
const open: OpenStream[] = [];

beforeAll(async () => {
  t = await startTestApp({
    env: { LATCHKEY_EVENT_STREAMS_MAX: String(STREAMS_MAX), LATCHKEY_PAT_CREATE_PER_MINUTE: '100000' },
  });
  server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  owner = await createMember(t, { role: 'owner' });
  outsider = await createMember(t, { role: 'owner' });
});

afterEach(async () => {
  // Each test's streams end with it, so the cap test starts from none.
  for (const stream of open.splice(0)) stream.close();
  await Promise.resolve();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const jtiOf = (token: string) => String(decodeJwt(token).payload.jti);

/** A service's access token: refreshed from a PAT of `member`. */
const serviceToken = async (member: Member) => refreshAccess(t, (await createPat(t, member)).token);

async function stream(token: string, lastEventId?: string): Promise<OpenStream> {
  const headers: Record<string, string> = bearer(token);
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const opened = await openEventStream(base, headers);
  if (!opened.ok) throw new Error(`stream refused: ${opened.status} ${JSON.stringify(opened.body)}`);
  open.push(opened);
  return opened;
}

/** A stream of `member`'s organization that has replayed the log and is current. */
async function current(member: Member = owner): Promise<OpenStream> {
  const s = await stream(await serviceToken(member));
  await s.next((e) => e.type === 'ready', 'the stream is ready');
  return s;
}

const revokedJti = (jti: string) => (e: { type: string; data: string }) =>
  e.type === 'pat_revoked' && (JSON.parse(e.data).jtis as string[]).includes(jti);

describe('who may open it', () => {
  it('is 401 with a Bearer challenge without credentials or with a bad token', async () => {
    for (const headers of [{}, bearer('not.a.token')]) {
      const refused = await openEventStream(base, headers);
      expect(refused).toMatchObject({ ok: false, status: 401 });
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey"/);
    }
  });

  it('is 403 for a member below administrator, and for an owner’s PAT lowered to a smaller role', async () => {
    const annotator = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    const lowered = await refreshAccess(t, (await createPat(t, owner, { role: 'manager' })).token);
    for (const token of [await serviceToken(annotator), lowered]) {
      const refused = await openEventStream(base, bearer(token));
      expect(refused).toMatchObject({ ok: false, status: 403, body: { code: 'permission_denied' } });
    }
  });

  it('is 403 for a legacy token: the stream is for access tokens', async () => {
    await withOrganization(t, owner.organizationId, { legacyApiTokensEnabled: true }, async () => {
      const reset = await request(t.app)
        .post('/api/current-user/reset-token')
        .set(bearer(await loginAccess(t, owner)));
      const legacy = reset.body.token as string;
      const refused = await openEventStream(base, { Authorization: `Token ${legacy}` });
      expect(refused).toMatchObject({ ok: false, status: 403, body: { code: 'permission_denied' } });
    });
  });

  it('serves an administrator’s login access token as an event stream', async () => {
    const admin = await createMember(t, { organizationId: owner.organizationId, role: 'administrator' });
    const s = await stream(await loginAccess(t, admin));
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.headers.get('cache-control')).toBe('no-store');
    const ready = await s.next((e) => e.type === 'ready', 'the stream is ready');
    expect(dataOf(ready)).toEqual({ at: Math.floor(t.clock() / 1000) });
  });
});

describe('what it carries', () => {
  it('a PAT revoked at the blacklist endpoint, with its jti', async () => {
    const s = await current();
    const pat = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    const event = await s.next(revokedJti(jtiOf(pat.token)), 'the revocation arrives');
    expect(dataOf(event)).toEqual({ jtis: [jtiOf(pat.token)], at: expect.any(String) });
    expect(event.lastEventId).toMatch(/^\d+$/);
  });

  it('a rotation (the old PAT), then a family revoked by reuse, as one event listing every jti', async () => {
    const s = await current();
    const first = await createPat(t, owner);
    const access = await loginAccess(t, owner);
    const rotate = (pat: string) => request(t.app).post('/api/token/rotate').set(bearer(access)).send({ refresh: pat });
    const second = (await rotate(first.token).expect(200)).body.refresh as string;
    await s.next(revokedJti(jtiOf(first.token)), 'the rotated PAT is announced');
    const third = (await rotate(second).expect(200)).body.refresh as string;
    await s.next(revokedJti(jtiOf(second)), 'the second rotation is announced');
    // The first PAT again: reuse. Its family's one live PAT (the third) is revoked.
    await request(t.app).post('/api/token/refresh').send({ refresh: first.token }).expect(401);
    const family = await s.next(revokedJti(jtiOf(third)), 'the family revocation arrives');
    expect(dataOf(family).jtis).toEqual([jtiOf(third)]);
  });

  it('a family revocation lists every jti it revoked', async () => {
    const s = await current();
    const pats = [await createPat(t, owner), await createPat(t, owner), await createPat(t, owner)];
    const jtis = pats.map((p) => jtiOf(p.token));
    // One statement over several PATs, as a family revocation is: an operator's, here.
    await t.database.prisma.personalAccessToken.updateMany({
      where: { jti: { in: jtis } },
      data: { revokedAt: new Date(t.clock()), revokedReason: 'reuse' },
    });
    const event = await s.next(revokedJti(jtis[0]!), 'the revocation arrives');
    expect([...(dataOf(event).jtis as string[])].sort()).toEqual([...jtis].sort());
  });

  it('a mass revocation comes as events of at most 500 jtis each', async () => {
    const s = await current();
    const kid = (await t.database.prisma.signingKey.findFirstOrThrow({ where: { state: 'signing' } })).kid;
    const jtis = Array.from({ length: 1_201 }, (_, i) => `${'mass'.padEnd(28, '0')}${String(i).padStart(4, '0')}`);
    await t.database.prisma.personalAccessToken.createMany({
      data: jtis.map((jti) => ({
        jti,
        name: 'mass',
        userId: owner.userId,
        organizationId: owner.organizationId,
        role: 'owner' as const,
        kid,
        familyId: jti,
        expiresAt: new Date(t.clock() + 86_400_000),
      })),
    });
    await t.database.prisma.personalAccessToken.updateMany({
      where: { jti: { in: jtis } },
      data: { revokedAt: new Date(t.clock()), revokedReason: 'revoked' },
    });
    await s.next(revokedJti(jtis.at(-1)!), 'the last of them arrives');
    const mass = s.events.filter((e) => e.type === 'pat_revoked' && jtis.includes((dataOf(e).jtis as string[])[0]!));
    expect(mass.map((e) => (dataOf(e).jtis as string[]).length)).toEqual([500, 500, 201]);
    expect(mass.flatMap((e) => dataOf(e).jtis as string[]).sort()).toEqual(jtis);
  });

  it('memberships demoted and removed, with the role they grant now', async () => {
    const s = await current();
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    const access = await loginAccess(t, owner);
    const membership = `/api/organizations/${owner.organizationId}/memberships/${member.userId}`;
    const changed = (role: string | null) => (e: { type: string; data: string }) =>
      e.type === 'membership_changed' &&
      JSON.parse(e.data).user_id === member.userId &&
      JSON.parse(e.data).role === role;
    await request(t.app).patch(membership).set(bearer(access)).send({ role: 'annotator' }).expect(200);
    await s.next(changed('annotator'), 'the demotion arrives');
    await request(t.app).delete(membership).set(bearer(access)).expect(204);
    await s.next(changed(null), 'the removal arrives');
  });

  it('a session ended by logout, with its sid', async () => {
    const s = await current();
    const access = await loginAccess(t, owner);
    await request(t.app).post('/api/auth/logout').set(bearer(access)).expect(204);
    const sid = String(decodeJwt(access).payload.sid);
    const event = await s.next(
      (e) => e.type === 'session_ended' && dataOf(e).sid === sid,
      'the end of the session arrives',
    );
    expect(dataOf(event)).toEqual({ sid, user_id: owner.userId, at: expect.any(String) });
  });

  it('organization policy changes', async () => {
    const s = await current();
    const access = await loginAccess(t, owner);
    const settings = (body: object) => request(t.app).post('/api/jwt/settings').set(bearer(access)).send(body);
    await settings({ api_tokens_enabled: false, access_token_ttl_seconds: 120 }).expect(200);
    try {
      const event = await s.next(
        (e) => e.type === 'policy_changed' && dataOf(e).api_tokens_enabled === false,
        'the policy change arrives',
      );
      expect(dataOf(event)).toEqual({
        api_tokens_enabled: false,
        legacy_api_tokens_enabled: false,
        api_token_ttl_days: 73000,
        access_token_ttl_seconds: 120,
        at: expect.any(String),
      });
    } finally {
      await settings({ api_tokens_enabled: true, access_token_ttl_seconds: 300 }).expect(200);
    }
  });

  it('a user deactivated (there is no endpoint for it: an operator’s UPDATE) and reactivated', async () => {
    const s = await current();
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'reviewer' });
    const setActive = (isActive: boolean) =>
      t.database.prisma.user.update({ where: { id: member.userId }, data: { isActive } });
    await setActive(false);
    await s.next(
      (e) => e.type === 'user_deactivated' && dataOf(e).user_id === member.userId,
      'the deactivation arrives',
    );
    await setActive(true);
    await s.next((e) => e.type === 'user_activated' && dataOf(e).user_id === member.userId, 'the reactivation arrives');
  });

  it('signing keys rotated (as `latchkey keys rotate` does) and retired, to every organization', async () => {
    const mine = await current();
    const theirs = await current(outsider);
    const { key } = await rotateSigningKey(t.database.db, t.box, 'ES256', new Date(t.clock()));
    for (const s of [mine, theirs])
      await s.next((e) => e.type === 'key_rotated' && dataOf(e).kid === key.kid, 'the rotation arrives');
    const old = await t.database.prisma.signingKey.findFirstOrThrow({ where: { state: 'verifying' } });
    await t.database.prisma.signingKey.update({ where: { kid: old.kid }, data: { state: 'retired' } });
    for (const s of [mine, theirs])
      await s.next((e) => e.type === 'key_retired' && dataOf(e).kid === old.kid, 'the retirement arrives');
  });

  it('shows an organization only its own events', async () => {
    const s = await current();
    const theirs = await createPat(t, outsider);
    const ours = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: theirs.token }).expect(204);
    await request(t.app).post('/api/token/blacklist').send({ refresh: ours.token }).expect(204);
    // Ids are in commit order and read in order: theirs, had it been sent, would have come first.
    await s.next(revokedJti(jtiOf(ours.token)), 'our revocation arrives');
    expect(s.events.filter(revokedJti(jtiOf(theirs.token)))).toEqual([]);
    // Nor in a replay of the whole log.
    const replay = await current();
    expect(replay.events.filter(revokedJti(jtiOf(ours.token)))).toHaveLength(1);
    expect(replay.events.filter(revokedJti(jtiOf(theirs.token)))).toEqual([]);
  });
});

describe('resuming', () => {
  it('a new subscriber replays the retained log, then says it is ready', async () => {
    const pat = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    const s = await current();
    const replayed = s.events.findIndex(revokedJti(jtiOf(pat.token)));
    expect(replayed).toBeGreaterThanOrEqual(0);
    expect(replayed).toBeLessThan(s.events.findIndex((e) => e.type === 'ready'));
  });

  it('resumes after Last-Event-ID: what happened while away, and nothing before', async () => {
    const first = await current();
    const before = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: before.token }).expect(204);
    await first.next(revokedJti(jtiOf(before.token)), 'the first revocation arrives');
    const resumeFrom = first.lastEventId();
    first.close();
    const away = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: away.token }).expect(204);
    const again = await stream(await serviceToken(owner), resumeFrom);
    await again.next((e) => e.type === 'ready', 'the resumed stream is ready');
    expect(again.events.map((e) => e.type)).not.toContain('reset');
    expect(again.events.filter(revokedJti(jtiOf(away.token)))).toHaveLength(1);
    expect(again.events.filter(revokedJti(jtiOf(before.token)))).toEqual([]);
  });

  it('moves a quiet stream’s cursor past other organizations’ events with the ready event', async () => {
    const theirs = await createPat(t, outsider);
    await request(t.app).post('/api/token/blacklist').send({ refresh: theirs.token }).expect(204);
    const s = await current();
    const newest = await t.database.prisma.tokenEvent.findFirstOrThrow({ orderBy: { id: 'desc' } });
    expect(s.lastEventId()).toBe(String(newest.id));
  });

  it('sends reset first for an id it never issued, then the whole retained log', async () => {
    const pat = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    for (const unknown of ['999999999999', 'not-a-number']) {
      const s = await stream(await serviceToken(owner), unknown);
      await s.next((e) => e.type === 'ready', 'the stream is ready');
      expect(s.events[0]).toMatchObject({ type: 'reset' });
      expect(dataOf(s.events[0]!)).toEqual({ reason: 'unknown_event_id' });
      expect(s.events.filter(revokedJti(jtiOf(pat.token)))).toHaveLength(1);
    }
  });

  it('prunes events older than the longest access-token lifetime plus leeway, and resets a cursor among them', async () => {
    const s = await current();
    const old = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: old.token }).expect(204);
    const oldEvent = await s.next(revokedJti(jtiOf(old.token)), 'the revocation arrives');
    const kept = await createPat(t, owner);
    await request(t.app).post('/api/token/blacklist').send({ refresh: kept.token }).expect(204);
    const keptEvent = await s.next(revokedJti(jtiOf(kept.token)), 'the second revocation arrives');
    // Age them on either side of the retention window, and everything before them past it.
    await t.database.prisma.$executeRaw`
      UPDATE token_events SET created_at = now() - make_interval(secs => ${TOKEN_EVENT_RETENTION_SECONDS + 60})
      WHERE id <= ${BigInt(oldEvent.lastEventId)}`;
    await t.database.prisma.$executeRaw`
      UPDATE token_events SET created_at = now() - make_interval(secs => ${TOKEN_EVENT_RETENTION_SECONDS - 60})
      WHERE id = ${BigInt(keptEvent.lastEventId)}`;
    // Each event written prunes up to 100 rows past the window.
    const aged = await t.database.prisma.tokenEvent.count({ where: { id: { lte: BigInt(oldEvent.lastEventId) } } });
    for (let write = 0; write < Math.ceil(aged / 100); write++) {
      const trigger = await createPat(t, owner);
      await request(t.app).post('/api/token/blacklist').send({ refresh: trigger.token }).expect(204);
      await s.next(revokedJti(jtiOf(trigger.token)), 'a later revocation arrives');
    }
    const ids = (await t.database.prisma.tokenEvent.findMany({ select: { id: true } })).map((e) => String(e.id));
    expect(ids).not.toContain(oldEvent.lastEventId);
    expect(ids).toContain(keptEvent.lastEventId);
    // A cursor at a pruned event cannot be resumed; one just before the oldest kept can.
    const pruned = await stream(await serviceToken(owner), String(BigInt(oldEvent.lastEventId) - 1n));
    await pruned.next((e) => e.type === 'ready', 'the stream is ready');
    expect(pruned.events[0]).toMatchObject({ type: 'reset' });
    expect(dataOf(pruned.events[0]!)).toEqual({ reason: 'event_id_pruned' });
    const resumed = await stream(await serviceToken(owner), oldEvent.lastEventId);
    await resumed.next((e) => e.type === 'ready', 'the stream is ready');
    expect(resumed.events[0]).toMatchObject({ type: 'pat_revoked', lastEventId: keptEvent.lastEventId });
  });
});

describe('bounds', () => {
  it('refuses a stream beyond LATCHKEY_EVENT_STREAMS_MAX with 503 and Retry-After, and admits one when another ends', async () => {
    const token = await serviceToken(owner);
    const streams: OpenStream[] = [];
    for (let i = 0; i < STREAMS_MAX; i++) streams.push(await stream(token));
    const refused = await openEventStream(base, bearer(token));
    expect(refused).toMatchObject({ ok: false, status: 503, body: { code: 'stream_limit_reached' } });
    expect(refused.headers.get('retry-after')).toBe('5');
    streams[0]!.close();
    let admitted: Awaited<ReturnType<typeof openEventStream>> | undefined;
    // The server learns of the closed socket asynchronously: retry until it has.
    for (let tries = 0; !admitted?.ok && tries < 1000; tries++) {
      admitted = await openEventStream(base, bearer(token));
      if (admitted.ok) open.push(admitted);
    }
    expect(admitted).toMatchObject({ ok: true, status: 200 });
  });

  it('ends every stream when the server stops', async () => {
    const other = await startTestApp();
    const otherServer = http.createServer(other.app);
    await new Promise<void>((resolve) => otherServer.listen(0, '127.0.0.1', resolve));
    try {
      const member = await createMember(other, { role: 'owner' });
      const opened = await openEventStream(
        `http://127.0.0.1:${(otherServer.address() as AddressInfo).port}`,
        bearer(await refreshAccess(other, (await createPat(other, member)).token)),
      );
      if (!opened.ok) throw new Error(`refused: ${opened.status}`);
      await opened.next((e) => e.type === 'ready', 'the stream is ready');
      await other.close();
      await opened.ended;
    } finally {
      otherServer.closeAllConnections();
      await new Promise((resolve) => otherServer.close(resolve));
    }
  });
});
