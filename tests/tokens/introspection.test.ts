/** RFC 7662 introspection and forward-auth, over HTTP. */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';

let t: TestApp;
let owner: Member;
let service: Record<string, string>;
let outsider: Member;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  await t.database.prisma.organization.update({
    where: { id: owner.organizationId },
    data: { legacyApiTokensEnabled: true },
  });
  await t.state.sync();
  // A resource server authenticates with a PAT-derived access token of its own.
  service = bearer(await refreshAccess(t, (await createPat(t, owner, { name: 'resource server' })).token));
  outsider = await createMember(t);
});
afterAll(() => t.close());

const introspect = (token: unknown, headers = service) =>
  request(t.app).post('/api/token/introspect').set(headers).send({ token });

describe('POST /api/token/introspect', () => {
  it('describes an active access token', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'reviewer' });
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    const res = await introspect(access);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      active: true,
      token_type: 'access',
      sub: String(member.userId),
      user_id: String(member.userId),
      org_id: owner.organizationId,
      role: 'reviewer',
      iss: t.config.issuer,
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
      aud: t.config.jwt.audience,
    });
  });

  it('describes a PAT and a legacy token, from a form body too', async () => {
    const pat = await createPat(t, owner);
    expect(
      (await request(t.app).post('/api/token/introspect').set(service).type('form').send({ token: pat.token })).body,
    ).toMatchObject({ active: true, token_type: 'refresh' });
    const legacy = (
      await request(t.app)
        .post('/api/current-user/reset-token')
        .set(bearer(await loginAccess(t, owner)))
    ).body.token;
    expect((await introspect(legacy)).body).toMatchObject({
      active: true,
      token_type: 'legacy',
      user_id: String(owner.userId),
    });
  });

  it('answers exactly {"active": false} for garbage, revoked, expired and other organizations’ tokens', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    const foreign = await refreshAccess(t, (await createPat(t, outsider)).token);
    for (const token of ['garbage', '', 'a.b.c', 'lkt_nope', pat.token, access, foreign]) {
      const res = await introspect(token);
      expect({ token, status: res.status, body: res.body }).toEqual({ token, status: 200, body: { active: false } });
    }
    const live = await refreshAccess(t, (await createPat(t, owner)).token);
    t.clock.advance(3600);
    try {
      expect((await introspect(live, bearer(await loginAccess(t, owner)))).body).toEqual({ active: false });
    } finally {
      t.clock.advance(-3600);
    }
  });

  it('does not let introspecting a rotated PAT revoke its family (only its holder presenting it does)', async () => {
    const first = await createPat(t, owner);
    const second = (
      await request(t.app)
        .post('/api/token/rotate')
        .set(bearer(await loginAccess(t, owner)))
        .send({ refresh: first.token })
    ).body.refresh;
    expect((await introspect(first.token)).body).toEqual({ active: false });
    expect((await introspect(second)).body).toMatchObject({ active: true });
  });

  it('needs an authenticated caller, and a token field', async () => {
    expect((await request(t.app).post('/api/token/introspect').send({ token: 'x' })).status).toBe(401);
    const res = await request(t.app).post('/api/token/introspect').set(service).send({});
    expect(res.status).toBe(400);
    expect(res.body.validation_errors).toEqual({ token: ['This field is required.'] });
  });
});

describe('GET /api/auth/verify (forward-auth)', () => {
  it('200 with the identity headers, for any method', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    for (const method of ['get', 'post', 'head'] as const) {
      const res = await request(t.app)[method]('/api/auth/verify').set(bearer(access));
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'x-auth-user-id': String(member.userId),
        'x-auth-org-id': String(owner.organizationId),
        'x-auth-role': 'manager',
      });
    }
  });

  it('401 with a bare challenge without credentials, invalid_token with a bad one', async () => {
    const none = await request(t.app).get('/api/auth/verify');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="latchkey"');
    const bad = await request(t.app).get('/api/auth/verify').set('Authorization', 'Bearer a.b.c');
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });
});
