/** Legacy tokens: shown once, stored as a hash, reset, every header form, usage logging, last used. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, loginAccess, withOrganization, type Member } from '../support/factories';
import { queriesDuring as countQueries } from '../support/queries';

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

const as = async (m: Member) => bearer(await loginAccess(t, m));
const whoami = (headers: Record<string, string | undefined>) =>
  request(t.app).get('/api/current-user/whoami').set(headers);
const reset = async (m: Member) => {
  const res = await request(t.app)
    .post('/api/current-user/reset-token/')
    .set(await as(m));
  expect(res.status).toBe(201);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.body.token as string;
};

const queriesDuring = (fn: () => Promise<unknown>) => countQueries(t.database, fn);

describe('legacy tokens', () => {
  it('is shown once, prefixed and checksummed; the database holds only its SHA-256', async () => {
    // A member of its own, who has had no token yet (the owner's is reset by other tests).
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    expect(
      (
        await request(t.app)
          .get('/api/current-user/token')
          .set(await as(member))
      ).body,
    ).toMatchObject({ hint: null, created_at: null });
    const token = await reset(member);
    expect(token).toMatch(/^lkt_[0-9A-Za-z]{36}$/);
    const shown = await request(t.app)
      .get('/api/current-user/token')
      .set(await as(member));
    expect(shown.body).toEqual({
      detail: expect.stringContaining('shown only when created'),
      hint: `lkt_…${token.slice(-4)}`,
      created_at: expect.any(String),
    });
    const dump = JSON.stringify(await t.database.prisma.$queryRawUnsafe('SELECT * FROM legacy_tokens'));
    expect(dump).not.toContain(token.slice(4, 20));
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    expect(dump).toContain(createHash('sha256').update(token).digest('hex'));
  });

  it('authenticates as Token (scheme in any case) and as X-Api-Key, with a Deprecation header and an info log line', async () => {
    const token = await reset(owner);
    for (const headers of [
      { Authorization: `Token ${token}` },
      { Authorization: `token ${token}` },
      { 'X-Api-Key': token },
    ]) {
      const res = await whoami(headers);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(owner.userId);
      expect(res.headers.deprecation).toMatch(/^@\d+$/);
    }
    const lines = t.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'legacy token used');
    expect(lines.at(-1)).toMatchObject({
      level: 30,
      userId: owner.userId,
      organizationId: owner.organizationId,
      endpoint: 'GET /api/current-user/whoami',
    });
    expect(t.logs.text()).not.toContain(token);
  });

  it('reset kills the old token at once', async () => {
    const old = await reset(owner);
    const fresh = await reset(owner);
    const res = await whoami({ Authorization: `Token ${old}` });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'token_invalid', detail: 'Invalid token.' });
    expect(res.headers['www-authenticate']).toBe('Token realm="latchkey"');
    expect((await whoami({ Authorization: `Token ${fresh}` })).status).toBe(200);
  });

  it('refuses a checksum typo without a database query', async () => {
    const token = await reset(owner);
    const typo = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    let res: request.Response | undefined;
    expect(await queriesDuring(async () => (res = await whoami({ Authorization: `Token ${typo}` })))).toBe(0);
    expect(res!.status).toBe(401);
    expect(res!.body.detail).toBe('Invalid token.');
    // The counter does count: an endpoint that reads the database is seen.
    expect(
      await queriesDuring(() => request(t.app).get('/api/current-user/token').set('Authorization', `Token ${token}`)),
    ).toBeGreaterThan(0);
  });

  it.each([
    ['Token', 'Invalid token header. No credentials provided.'],
    ['Token ', 'Invalid token header. No credentials provided.'],
    ['Token a b', 'Invalid token header. Token string should not contain spaces.'],
    ['Token lkt_short', 'Invalid token.'],
    ['Token 40a0d8e4c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6', 'Invalid token.'],
  ])('%j → 401 %s', async (header, detail) => {
    const res = await whoami({ Authorization: header });
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe(detail);
    expect(res.headers['www-authenticate']).toBe('Token realm="latchkey"');
  });

  it('stops while legacy tokens are disabled for the org, and works again when re-enabled', async () => {
    const token = await reset(owner);
    await withOrganization(t, owner.organizationId, { legacyApiTokensEnabled: false }, async () => {
      for (const headers of [{ Authorization: `Token ${token}` }, { 'X-Api-Key': token }]) {
        const res = await whoami(headers);
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({
          code: 'token_type_disabled',
          detail:
            'Authentication token no longer valid: legacy token authentication has been disabled for this organization',
        });
      }
      expect(
        (
          await request(t.app)
            .post('/api/current-user/reset-token')
            .set(await as(owner))
        ).status,
      ).toBe(403);
    });
    expect((await whoami({ Authorization: `Token ${token}` })).status).toBe(200);
  });

  it('stops for a removed member or a deactivated user', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'annotator' });
    const token = await reset(member);
    await t.database.prisma.user.update({ where: { id: member.userId }, data: { isActive: false } });
    await t.state.sync();
    expect((await whoami({ Authorization: `Token ${token}` })).body.code).toBe('user_inactive');
    await t.database.prisma.user.update({ where: { id: member.userId }, data: { isActive: true } });
    await t.state.sync();
    await request(t.app)
      .delete(`/api/organizations/${owner.organizationId}/memberships/${member.userId}`)
      .set(await as(owner))
      .expect(204);
    expect((await whoami({ Authorization: `Token ${token}` })).body.code).toBe('not_a_member');
  });
});

describe('last used', () => {
  it('is written at most once a minute per token, without a write per request', async () => {
    const token = await reset(owner);
    const row = () =>
      t.database.prisma.legacyToken.findFirstOrThrow({ where: { userId: owner.userId, revokedAt: null } });
    const start = t.clock();
    await whoami({ Authorization: `Token ${token}` });
    expect((await row()).lastUsedAt).toBeNull();
    await t.usage.flush();
    expect((await row()).lastUsedAt?.getTime()).toBe(start);
    t.clock.advance(30);
    await whoami({ Authorization: `Token ${token}` });
    // Used again within the minute: nothing to write.
    expect(await queriesDuring(() => t.usage.flush())).toBe(0);
    expect((await row()).lastUsedAt?.getTime()).toBe(start);
    t.clock.advance(31);
    await whoami({ Authorization: `Token ${token}` });
    await t.usage.flush();
    expect((await row()).lastUsedAt?.getTime()).toBe(start + 61_000);
  });

  it('records PAT use through refresh and through its access tokens, shown in the listing', async () => {
    const headers = await as(owner);
    const created = await request(t.app).post('/api/token').set(headers).send({ name: 'used' });
    t.clock.advance(120);
    const access = (await request(t.app).post('/api/token/refresh').send({ refresh: created.body.token })).body
      .access as string;
    await t.usage.flush();
    const listed = async () =>
      (await request(t.app).get('/api/token').set(bearer(access))).body.find(
        (p: { id: number }) => p.id === created.body.id,
      );
    expect((await listed()).last_used_at).toBe(new Date(t.clock()).toISOString());
    t.clock.advance(120);
    await whoami(bearer(access));
    await t.usage.flush();
    expect((await listed()).last_used_at).toBe(new Date(t.clock()).toISOString());
  });
});
