import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  refreshAccess,
  type Member,
} from '../support/factories';

let t: TestApp;
let alice: Member;

beforeAll(async () => {
  t = await startTestApp();
  alice = await createMember(t, { role: 'manager' });
});
afterAll(() => t.close());

describe('the PAT flow', () => {
  it('creates a named PAT shown once, with the claims the Label Studio SDK needs', async () => {
    const access = await loginAccess(t, alice);
    const res = await request(t.app).post('/api/token/').set(bearer(access)).send({ name: 'ci', expires_in_days: 30 });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'expires_at', 'id', 'name', 'role', 'token']);
    expect(res.body).toMatchObject({ name: 'ci', role: 'manager' });
    const { header, payload } = decodeJwt(res.body.token);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: t.keys.signer().kid });
    expect(payload).toEqual({
      token_type: 'refresh',
      exp: (payload.iat as number) + 30 * 86_400,
      iat: Math.floor(t.clock() / 1000),
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      user_id: String(alice.userId),
      org_id: alice.organizationId,
      iss: t.config.issuer,
    });
    expect(res.body.expires_at).toBe(new Date((payload.exp as number) * 1000).toISOString());
  });

  it('lists live PATs as header.payload only, never the signature', async () => {
    const { token, id } = await createPat(t, alice, { name: 'listed' });
    const res = await request(t.app)
      .get('/api/token')
      .set(bearer(await loginAccess(t, alice)));
    expect(res.status).toBe(200);
    const listed = res.body.find((row: { id: number }) => row.id === id);
    expect(listed).toEqual({
      id,
      name: 'listed',
      token: token.split('.').slice(0, 2).join('.'),
      role: 'manager',
      created_at: expect.any(String),
      expires_at: expect.any(String),
      last_used_at: null,
    });
    expect(JSON.stringify(res.body)).not.toContain(token.split('.')[2]);
  });

  it.each(['/api/token/refresh', '/api/token/refresh/'])(
    'refreshes at %s into an access token with the contract claims',
    async (path) => {
      const { token } = await createPat(t, alice);
      const res = await request(t.app).post(path).send({ refresh: token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['access']);
      const { header, payload } = decodeJwt(res.body.access);
      expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: t.keys.signer().kid });
      const iat = Math.floor(t.clock() / 1000);
      expect(payload).toEqual({
        token_type: 'access',
        exp: iat + 300,
        iat,
        jti: expect.stringMatching(/^[0-9a-f]{32}$/),
        iss: t.config.issuer,
        aud: t.config.jwt.audience,
        sub: String(alice.userId),
        client_id: 'latchkey-pat',
        user_id: String(alice.userId),
        org_id: alice.organizationId,
        role: 'manager',
        pat: decodeJwt(token).payload.jti,
      });
    },
  );

  it('accepts a form-encoded refresh, as Label Studio’s own tests post', async () => {
    const { token } = await createPat(t, alice);
    const res = await request(t.app).post('/api/token/refresh').type('form').send({ refresh: token });
    expect(res.status).toBe(200);
  });

  it('authenticates the access token as Bearer (any case) and as X-Api-Key', async () => {
    const access = await refreshAccess(t, (await createPat(t, alice)).token);
    const whoami = {
      id: alice.userId,
      email: alice.email,
      first_name: '',
      last_name: '',
      active_organization: alice.organizationId,
      role: 'manager',
      // Label Studio's user fields (issue 12).
      username: alice.email,
      avatar: null,
      initials: alice.email.slice(0, 2),
      phone: '',
      date_joined: expect.any(String),
      last_activity: expect.any(String),
      allow_newsletters: null,
    };
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await request(t.app).get('/api/current-user/whoami').set('Authorization', `${scheme} ${access}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(whoami);
    }
    const res = await request(t.app)
      .get('/api/current-user/whoami/')
      .set('X-Api-Key', access)
      .set('Authorization', 'Bearer garbage');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(whoami);
  });

  it('refuses a PAT sent as a Bearer token, saying how to exchange it', async () => {
    const { token } = await createPat(t, alice);
    for (const headers of [bearer(token), { 'X-Api-Key': token }]) {
      const res = await request(t.app).get('/api/current-user/whoami').set(headers);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('refresh_token_as_access');
      expect(res.body.detail).toContain('POST /api/token/refresh');
      expect(res.headers['www-authenticate']).toMatch(
        /^Bearer realm="latchkey", error="invalid_token", error_description="This is a personal access token/,
      );
    }
  });

  it('answers 401 with a bare challenge when no credentials are sent', async () => {
    for (const headers of [{}, { Authorization: 'Basic dXNlcjpwYXNz' }]) {
      const res = await request(t.app).get('/api/current-user/whoami').set(headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        id: expect.any(String),
        status_code: 401,
        code: 'not_authenticated',
        detail: 'Authentication credentials were not provided.',
      });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="latchkey"');
    }
  });

  it('answers every error on the PAT routes as JSON, 405 included', async () => {
    const res = await request(t.app).get('/api/token/refresh');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, OPTIONS');
    expect(res.body.code).toBe('method_not_allowed');
  });
});
