/** Password login, the session cookie (with CSRF), logout. */
import bcrypt from 'bcrypt';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { itWithConcurrentConnections } from '../support/concurrency';
import { bearer, createMember, decodeJwt, PASSWORD, type Member } from '../support/factories';
import { queriesDuring } from '../support/queries';

let t: TestApp;
let alice: Member;

beforeAll(async () => {
  t = await startTestApp({ env: { LATCHKEY_TRUST_PROXY: 'loopback' } });
  alice = await createMember(t, { role: 'administrator' });
});
afterAll(() => t.close());

const login = (body: object, ip = '10.0.0.1') =>
  request(t.app).post('/api/auth/login').set('X-Forwarded-For', ip).send(body);

function cookies(res: request.Response): Record<string, string> {
  const set = (res.headers['set-cookie'] ?? []) as unknown as string[];
  return Object.fromEntries(set.map((line) => line.split(';')[0]!.split('=') as [string, string]));
}

describe('POST /api/auth/login', () => {
  it('returns a login access token bound to a session, and sets the session and CSRF cookies', async () => {
    const res = await login({ email: alice.email.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { payload, header } = decodeJwt(res.body.access);
    expect(header.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      token_type: 'access',
      user_id: String(alice.userId),
      org_id: alice.organizationId,
      role: 'administrator',
      sid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(payload.pat).toBeUndefined();
    const set = (res.headers['set-cookie'] as unknown as string[]).join('\n');
    expect(set).toMatch(
      /latchkey_session=[0-9a-f]{32}\.[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax/,
    );
    expect(set).toMatch(/csrftoken=[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; Expires=[^;]+; SameSite=Lax/);
    const session = await t.database.prisma.session.findUniqueOrThrow({ where: { id: payload.sid as string } });
    expect(session.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(set).not.toContain(session.tokenHash);
  });

  it('answers unknown email and wrong password with the same 401', async () => {
    const unknown = await login({ email: 'nobody@example.com', password: PASSWORD }, '10.0.0.2');
    const wrong = await login({ email: alice.email, password: 'not the password' }, '10.0.0.2');
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'invalid_credentials', detail: 'Invalid email or password.' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="latchkey"');
    }
  });

  it('answers a deactivated user as a wrong password', async () => {
    const bob = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    await t.database.prisma.user.update({ where: { id: bob.userId }, data: { isActive: false } });
    await t.state.sync();
    const res = await login({ email: bob.email, password: PASSWORD }, '10.0.0.3');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
  });

  it('400 for missing fields', async () => {
    const res = await login({});
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({
      email: ['This field is required.'],
      password: ['This field is required.'],
    });
  });
});

describe('failed-login limits', () => {
  const refusal = (res: request.Response) => ({
    status: res.status,
    code: res.body.code,
    retryAfter: res.headers['retry-after'],
  });
  const rows = () =>
    t.database.prisma.$queryRaw<
      { key: string; failures: number; window_ends_at: Date }[]
    >`SELECT key, failures, window_ends_at FROM login_throttle ORDER BY key`;

  it('per account and client: after 10 failures that client is refused for that account, even with the right password, until its 15 minutes are over; the owner elsewhere is not', async () => {
    const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    for (let i = 0; i < 10; i++)
      expect((await login({ email: target.email, password: `wrong ${i}` }, '10.1.0.1')).status).toBe(401);
    expect(refusal(await login({ email: target.email, password: 'wrong' }, '10.1.0.1'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '900',
    });
    expect(refusal(await login({ email: target.email, password: PASSWORD }, '10.1.0.1'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '900',
    });
    t.clock.advance(60);
    expect(refusal(await login({ email: target.email.toUpperCase(), password: PASSWORD }, '10.1.0.1'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '840',
    });
    expect((await login({ email: target.email, password: PASSWORD }, '10.1.0.2')).status).toBe(200);
    expect((await login({ email: alice.email, password: PASSWORD }, '10.1.0.1')).status).toBe(200);
    t.clock.advance(840);
    expect((await login({ email: target.email, password: PASSWORD }, '10.1.0.1')).status).toBe(200);
  });

  it('per client: after 100 failures across accounts the address is refused for every account; other addresses are not', async () => {
    for (let i = 0; i < 100; i++)
      expect((await login({ email: `spray-${i}@example.com`, password: 'x' }, '10.2.0.1')).status).toBe(401);
    expect(refusal(await login({ email: alice.email, password: PASSWORD }, '10.2.0.1'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '900',
    });
    expect((await login({ email: alice.email, password: PASSWORD }, '10.2.0.2')).status).toBe(200);
  });

  it('per account from everywhere: 50 failures an hour refuse the account to every client, the right password too, until the hour is over', async () => {
    const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    for (let client = 0; client < 5; client++) {
      for (let i = 0; i < 10; i++)
        expect((await login({ email: target.email, password: 'wrong' }, `10.5.${client}.1`)).status).toBe(401);
    }
    expect(refusal(await login({ email: target.email, password: PASSWORD }, '10.5.9.9'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '3600',
    });
    expect((await login({ email: alice.email, password: PASSWORD }, '10.5.0.1')).status).toBe(200);
    t.clock.advance(3600);
    expect((await login({ email: target.email, password: PASSWORD }, '10.5.9.9')).status).toBe(200);
  });

  it('a refused attempt costs one query (the counters), no password check and no write', async () => {
    const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    for (let i = 0; i < 10; i++) await login({ email: target.email, password: 'wrong' }, '10.6.0.1');
    const before = await rows();
    expect(
      await queriesDuring(t.database, async () =>
        expect((await login({ email: target.email, password: PASSWORD }, '10.6.0.1')).status).toBe(429),
      ),
    ).toBe(1);
    expect(await rows()).toEqual(before);
  });

  it("a successful login writes nothing to the counters and resets no one's", async () => {
    // Counts every statement that writes to the counters (a statement-level trigger of the test's own).
    for (const sql of [
      'CREATE TABLE throttle_writes (op text NOT NULL)',
      'CREATE FUNCTION note_throttle_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO throttle_writes VALUES (TG_OP); RETURN NULL; END $$',
      'CREATE TRIGGER note_throttle_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON login_throttle FOR EACH STATEMENT EXECUTE FUNCTION note_throttle_write()',
    ])
      await t.database.prisma.$executeRawUnsafe(sql);
    const writes = async () =>
      (await t.database.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM throttle_writes`)[0]!.n;
    try {
      const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
      for (let i = 0; i < 9; i++)
        expect((await login({ email: target.email, password: 'wrong' }, '10.7.0.1')).status).toBe(401);
      expect(await writes()).toBeGreaterThan(0);
      const [writesBefore, rowsBefore] = [await writes(), await rows()];
      expect((await login({ email: target.email, password: PASSWORD }, '10.7.0.2')).status).toBe(200);
      expect((await login({ email: target.email, password: PASSWORD }, '10.7.0.1')).status).toBe(200);
      expect(await writes()).toBe(writesBefore);
      expect(await rows()).toEqual(rowsBefore);
      expect((await login({ email: target.email, password: 'wrong' }, '10.7.0.1')).status).toBe(401);
      expect(refusal(await login({ email: target.email, password: PASSWORD }, '10.7.0.1'))).toMatchObject({
        status: 429,
      });
    } finally {
      for (const sql of [
        'DROP TRIGGER IF EXISTS note_throttle_write ON login_throttle',
        'DROP FUNCTION IF EXISTS note_throttle_write()',
        'DROP TABLE IF EXISTS throttle_writes',
      ]) {
        await t.database.prisma.$executeRawUnsafe(sql);
      }
    }
  });

  it('concurrent guesses from one client get no more password checks than the limit', async () => {
    const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login({ email: target.email, password: `wrong ${i}` }, '10.8.0.1')),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(10).fill(401), ...Array(10).fill(429)]);
  });

  it('an IPv6 client is one /64: its addresses share counters, the next /64 does not', async () => {
    const target = await createMember(t, { organizationId: alice.organizationId, role: 'annotator' });
    for (let i = 0; i < 10; i++)
      expect(
        (await login({ email: target.email, password: 'wrong' }, `2001:db8:1:2::${i.toString(16)}:1`)).status,
      ).toBe(401);
    expect(
      (await login({ email: target.email, password: PASSWORD }, '2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).status,
    ).toBe(429);
    expect((await login({ email: target.email, password: PASSWORD }, '2001:db8:1:3::1')).status).toBe(200);
  });

  it('keeps no expired windows: each failed attempt deletes up to 100 of them', async () => {
    t.clock.advance(2 * 3600); // past every window so far
    await t.database.prisma.$executeRaw`
      INSERT INTO login_throttle (key, failures, window_ends_at)
      SELECT 'client:stale-' || n, 1, ${new Date(t.clock() - 1000)} FROM generate_series(1, 250) AS n`;
    const expired = async () => (await rows()).filter((r) => r.window_ends_at.getTime() <= t.clock()).length;
    const stale = await expired();
    expect(stale).toBeGreaterThanOrEqual(250);
    expect((await login({ email: 'sweep-0@example.com', password: 'x' }, '10.9.0.1')).status).toBe(401);
    expect(await expired()).toBe(stale - 100);
    for (let i = 1; i < Math.ceil(stale / 100); i++)
      expect((await login({ email: `sweep-${i}@example.com`, password: 'x' }, '10.9.0.1')).status).toBe(401);
    expect(await expired()).toBe(0);
    // What is left is the live windows of these attempts: one per account and client, one per account, one for the client.
    expect((await rows()).length).toBe(2 * Math.ceil(stale / 100) + 1);
  });
});

describe('failed-login limits when the database is unreachable', () => {
  itWithConcurrentConnections('answer 503 with Retry-After, not 500', async () => {
    const cut = await startTestApp({ viaProxy: true });
    try {
      await cut.proxy!.cut();
      const res = await request(cut.app).post('/api/auth/login').send({ email: 'anyone@example.com', password: 'x' });
      expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
        status: 503,
        code: 'service_unavailable',
        retryAfter: '1',
      });
    } finally {
      await cut.proxy!.restore();
      await cut.close();
    }
  });
});

describe('sessions', () => {
  it('authenticates with the cookie; unsafe methods need X-CSRFToken matching the csrftoken cookie', async () => {
    const res = await login({ email: alice.email, password: PASSWORD }, '10.3.0.1');
    const jar = cookies(res);
    const cookie = `latchkey_session=${jar.latchkey_session}; csrftoken=${jar.csrftoken}`;
    const who = await request(t.app).get('/api/current-user/whoami').set('Cookie', cookie);
    expect(who.status).toBe(200);
    expect(who.body.id).toBe(alice.userId);

    const noCsrf = await request(t.app).post('/api/token/').set('Cookie', cookie).send({ name: 'from browser' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body).toMatchObject({ code: 'csrf_failed', detail: 'CSRF Failed: CSRF token missing or incorrect.' });
    const badCsrf = await request(t.app)
      .post('/api/token/')
      .set('Cookie', cookie)
      .set('X-CSRFToken', 'nope')
      .send({ name: 'from browser' });
    expect(badCsrf.status).toBe(403);
    const ok = await request(t.app)
      .post('/api/token/')
      .set('Cookie', cookie)
      .set('X-CSRFToken', jar.csrftoken!)
      .send({ name: 'from browser' });
    expect(ok.status).toBe(201);
  });

  it('binds the CSRF token to its session: a token from another session, or planted as a cookie, does not pass', async () => {
    const victim = cookies(await login({ email: alice.email, password: PASSWORD }, '10.3.0.2'));
    const attacker = cookies(await login({ email: alice.email, password: PASSWORD }, '10.3.0.3'));
    expect(victim.csrftoken).not.toBe(attacker.csrftoken);
    // An attacker who can set cookies for the site plants a csrftoken of their own and sends it back.
    const planted = `latchkey_session=${victim.latchkey_session}; csrftoken=${attacker.csrftoken}`;
    const res = await request(t.app)
      .post('/api/token/')
      .set('Cookie', planted)
      .set('X-CSRFToken', attacker.csrftoken!)
      .send({ name: 'forged' });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'csrf_failed' });
  });

  it('refuses a forged or expired session cookie', async () => {
    const res = await login({ email: alice.email, password: PASSWORD }, '10.3.0.2');
    const [sid] = cookies(res).latchkey_session!.split('.');
    const forged = await request(t.app)
      .get('/api/current-user/whoami')
      .set('Cookie', `latchkey_session=${sid}.${'A'.repeat(43)}`);
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('session_ended');
    t.clock.advance(14 * 86_400 + 1);
    const expired = await request(t.app)
      .get('/api/current-user/whoami')
      .set('Cookie', `latchkey_session=${cookies(res).latchkey_session}`);
    expect(expired.status).toBe(401);
  });

  it('logout ends the session: the cookie and the login access token stop at once', async () => {
    const res = await login({ email: alice.email, password: PASSWORD }, '10.3.0.3');
    const access = res.body.access as string;
    const jar = cookies(res);
    expect((await request(t.app).get('/api/current-user/whoami').set(bearer(access))).status).toBe(200);
    const out = await request(t.app).post('/api/auth/logout').set(bearer(access));
    expect(out.status).toBe(204);
    expect((out.headers['set-cookie'] as unknown as string[]).join('\n')).toMatch(/latchkey_session=;/);
    const after = await request(t.app).get('/api/current-user/whoami').set(bearer(access));
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('session_ended');
    expect(
      (await request(t.app).get('/api/current-user/whoami').set('Cookie', `latchkey_session=${jar.latchkey_session}`))
        .status,
    ).toBe(401);
    const events = await t.database.prisma.auditEvent.findMany({
      where: { targetType: 'session', targetId: decodeJwt(access).payload.sid as string },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual(['session.created', 'session.ended']);
  });

  it('a login access token is the way to a first PAT', async () => {
    const fresh = await createMember(t, { role: 'reviewer' });
    const access = (await login({ email: fresh.email, password: PASSWORD }, '10.3.0.4')).body.access as string;
    const res = await request(t.app).post('/api/token').set(bearer(access)).send({ name: 'first' });
    expect(res.status).toBe(201);
    expect(res.body.role).toBe('reviewer');
  });
});

describe('login timing', () => {
  // "The same time for an unknown email as for a wrong password" cannot be shown with a
  // stopwatch on a loaded machine; this checks the mechanism instead: either answer costs one
  // bcrypt comparison, against a hash of the same cost.
  it('spends a bcrypt comparison on an unknown email too (no fast "no such user" path)', async () => {
    const { passwordHash } = await t.database.prisma.user.findUniqueOrThrow({ where: { id: alice.userId } });
    const cost = (hash: string | null | undefined) => /^\$2[aby]\$(\d+)\$/.exec(hash ?? '')?.[1];
    const compare = jest.spyOn(bcrypt, 'compare');
    try {
      const wrong = await login({ email: alice.email, password: 'not the password' }, '10.4.0.1');
      const unknown = await login({ email: 'nobody@example.com', password: 'not the password' }, '10.4.0.1');
      expect([wrong.status, unknown.status]).toEqual([401, 401]);
      expect(compare).toHaveBeenCalledTimes(2);
      const [[, wrongHash], [, unknownHash]] = compare.mock.calls as unknown as [[string, string], [string, string]];
      expect(wrongHash).toBe(passwordHash);
      // A stand-in hash, of the cost a real user's has.
      expect(unknownHash).not.toBe(passwordHash);
      expect(cost(passwordHash)).toMatch(/^\d+$/);
      expect(cost(unknownHash)).toBe(cost(passwordHash));
    } finally {
      compare.mockRestore();
    }
  });
});
