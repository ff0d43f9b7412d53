/**
 * The standard OAuth 2.0 endpoints, driven by a real OAuth client (oauth4webapi) over real
 * HTTP: RFC 8414 discovery, the RFC 6749 refresh grant, RFC 7662 introspection and RFC 7009
 * revocation; then the bad-input battery, answered in RFC 6749 §5.2's shape with its statuses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import request from 'supertest';
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

let t: TestApp;
let server: http.Server;
let issuer: URL;
let owner: Member;
let as: oauth.AuthorizationServer;

/** Any client_id: clients are public and not registered. */
const client: oauth.Client = { client_id: 'an-app-of-ours' };
const insecure = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  // Listening first, so that the issuer (which oauth4webapi compares) is the address it fetches.
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t = await startTestApp({ env: { LATCHKEY_ISSUER: issuer.origin } });
  server.on('request', t.app);
  owner = await createMember(t, { role: 'owner' });
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const refreshGrant = async (pat: string) =>
  oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), pat, insecure),
  );

/** What the refresh grant refused `pat` with, as oauth4webapi reports it. */
async function grantRefusal(pat: string): Promise<{ status: number; error: string }> {
  const err = await refreshGrant(pat).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof oauth.ResponseBodyError)) throw new Error(`not refused in the RFC shape: ${String(err)}`);
  return { status: err.status, error: err.error };
}

const whoami = (access: string) => request(t.app).get('/api/current-user/whoami').set(bearer(access));

describe('a standard OAuth client (oauth4webapi)', () => {
  it('discovers the standard endpoints in the RFC 8414 metadata', () => {
    expect(as).toMatchObject({
      issuer: issuer.origin,
      jwks_uri: `${issuer.origin}/.well-known/jwks.json`,
      token_endpoint: `${issuer.origin}/oauth/token`,
      token_endpoint_auth_methods_supported: ['none'],
      grant_types_supported: ['refresh_token'],
      response_types_supported: [],
      revocation_endpoint: `${issuer.origin}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint: `${issuer.origin}/api/token/introspect`,
    });
  });

  it('refreshes a PAT into a Bearer access token that authenticates, and the PAT stays valid', async () => {
    const pat = (await createPat(t, owner)).token;
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), pat, insecure);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    const answer = await oauth.processRefreshTokenResponse(as, client, response);
    expect(answer).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 300 });
    expect((await whoami(answer.access_token)).body).toMatchObject({ id: owner.userId });
    // Not rotated: the same PAT refreshes again.
    expect((await refreshGrant(pat)).access_token).toEqual(expect.any(String));
  });

  it('issues access tokens with every claim RFC 9068 §2.2 requires, which jose verifies', async () => {
    const pat = await createPat(t, owner);
    const { access_token } = await refreshGrant(pat.token);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', issuer));
    const { payload } = await jwtVerify(access_token, jwks, {
      issuer: as.issuer,
      audience: t.config.jwt.audience,
      typ: 'at+jwt',
      currentDate: new Date(t.clock()),
      requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    });
    expect(payload).toMatchObject({ sub: String(owner.userId), client_id: 'latchkey-pat' });
    expect(payload.exp! - payload.iat!).toBe(300);
    // A login's access token names its own client.
    expect(decodeJwt(await loginAccess(t, owner)).payload.client_id).toBe('latchkey-login');
  });

  it('introspects the access token (RFC 7662), the caller authenticated with a Bearer token of its own', async () => {
    const service = await refreshAccess(t, (await createPat(t, owner, { name: 'resource server' })).token);
    const withBearer: oauth.ClientAuth = (_as, _client, _body, headers) => {
      headers.set('authorization', `Bearer ${service}`);
    };
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, withBearer, token, insecure),
      );
    const { access_token } = await refreshGrant((await createPat(t, owner)).token);
    expect(await introspect(access_token)).toMatchObject({
      active: true,
      token_type: 'access',
      sub: String(owner.userId),
      iss: issuer.origin,
    });
    expect(await introspect('garbage')).toEqual({ active: false });
  });

  it('revokes a PAT (RFC 7009): the refresh grant then refuses it with invalid_grant, and its access tokens stop', async () => {
    const pat = (await createPat(t, owner)).token;
    const { access_token } = await refreshGrant(pat);
    await expect(
      oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, oauth.None(), pat, { ...insecure, additionalParameters: {} }),
      ),
    ).resolves.toBeUndefined();
    expect(await grantRefusal(pat)).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await whoami(access_token)).body.code).toBe('token_blacklisted');
    // Revoking it again, like any unknown token, is not an error (§2.2).
    await expect(
      oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), pat, insecure)),
    ).resolves.toBeUndefined();
  });
});

// ---- Bad input --------------------------------------------------------------------------------

const token = (form: Record<string, string> | string) => request(t.app).post('/oauth/token').type('form').send(form);
const revoke = (form: Record<string, string> | string) => request(t.app).post('/oauth/revoke').type('form').send(form);

/** The RFC 6749 §5.2 error object, exactly, never cached; and the request id still in its header. */
function expectOAuthError(res: request.Response, status: number, error: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: { error, error_description: expect.any(String) },
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
}

describe('POST /oauth/token refuses in RFC 6749 §5.2 terms', () => {
  let pat: string;
  beforeAll(async () => {
    pat = (await createPat(t, owner)).token;
  });

  it.each([
    'authorization_code',
    'client_credentials',
    'password',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
    'REFRESH_TOKEN',
  ])('unsupported_grant_type for grant_type=%s', async (grantType) => {
    expectOAuthError(await token({ grant_type: grantType, refresh_token: pat }), 400, 'unsupported_grant_type');
  });

  it.each([
    ['no body at all', ''],
    ['no grant_type', 'refresh_token=x'],
    ['an empty grant_type', 'grant_type=&refresh_token=x'],
    ['no refresh_token', 'grant_type=refresh_token'],
    ['an empty refresh_token', 'grant_type=refresh_token&refresh_token='],
    ['a PAT sent as access_token', null],
    ['a repeated grant_type', 'grant_type=refresh_token&grant_type=refresh_token&refresh_token=x'],
    ['a repeated refresh_token', null],
    ['a repeated client_id', 'grant_type=refresh_token&refresh_token=x&client_id=a&client_id=b'],
  ])('invalid_request for %s', async (what, form) => {
    const body =
      form ??
      (what.includes('access_token')
        ? `grant_type=refresh_token&access_token=${pat}`
        : `grant_type=refresh_token&refresh_token=${pat}&refresh_token=${pat}`);
    expectOAuthError(await token(body), 400, 'invalid_request');
  });

  it('invalid_request for parameters sent as JSON, text or an unsupported charset', async () => {
    const fields = { grant_type: 'refresh_token', refresh_token: pat };
    expectOAuthError(await request(t.app).post('/oauth/token').send(fields), 400, 'invalid_request');
    expectOAuthError(
      await request(t.app)
        .post('/oauth/token')
        .set('Content-Type', 'text/plain')
        .send(new URLSearchParams(fields).toString()),
      400,
      'invalid_request',
    );
    expectOAuthError(
      await request(t.app)
        .post('/oauth/token')
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=klingon')
        .send(new URLSearchParams(fields).toString()),
      400,
      'invalid_request',
    );
    expectOAuthError(
      await token(`grant_type=refresh_token&refresh_token=${'a'.repeat(17_000)}`),
      400,
      'invalid_request',
    );
  });

  it('invalid_grant for an access token sent as the refresh token, garbage, a tampered PAT', async () => {
    const access = await refreshAccess(t, pat);
    const [h, p, s] = pat.split('.');
    for (const refreshToken of [access, 'garbage', `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`]) {
      expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: refreshToken }), 400, 'invalid_grant');
    }
  });

  it('invalid_grant for a revoked PAT, by either revocation endpoint', async () => {
    const revokedHere = (await createPat(t, owner)).token;
    expect((await revoke({ token: revokedHere })).status).toBe(200);
    const blacklisted = (await createPat(t, owner)).token;
    await request(t.app).post('/api/token/blacklist').send({ refresh: blacklisted }).expect(204);
    for (const revoked of [revokedHere, blacklisted]) {
      const res = await token({ grant_type: 'refresh_token', refresh_token: revoked });
      expectOAuthError(res, 400, 'invalid_grant');
      expect(res.body.error_description).toBe('Token is blacklisted');
    }
  });

  it('invalid_grant for a rotated PAT presented again, which still revokes its family', async () => {
    const old = (await createPat(t, owner)).token;
    const rotated = await request(t.app)
      .post('/api/token/rotate')
      .set(bearer(await loginAccess(t, owner)))
      .send({ refresh: old });
    expect(rotated.status).toBe(200);
    const successor = rotated.body.refresh as string;
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: old }), 400, 'invalid_grant');
    expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: successor }), 400, 'invalid_grant');
  });

  it('invalid_grant for an expired PAT, and while the organization has PATs switched off', async () => {
    const shortLived = (await createPat(t, owner, { expires_in_days: 1 })).token;
    const start = t.clock();
    t.clock.advance(2 * 86_400);
    try {
      const res = await token({ grant_type: 'refresh_token', refresh_token: shortLived });
      expectOAuthError(res, 400, 'invalid_grant');
      expect(res.body.error_description).toBe('Token is expired');
    } finally {
      t.clock.set(start);
    }
    await withOrganization(t, owner.organizationId, { apiTokensEnabled: false }, async () => {
      expectOAuthError(await token({ grant_type: 'refresh_token', refresh_token: pat }), 400, 'invalid_grant');
    });
    expect((await token({ grant_type: 'refresh_token', refresh_token: pat })).status).toBe(200);
  });

  it('invalid_scope for any scope: there are none', async () => {
    expectOAuthError(
      await token({ grant_type: 'refresh_token', refresh_token: pat, scope: 'openid' }),
      400,
      'invalid_scope',
    );
  });

  it('401 invalid_client, challenged with Basic, for an attempt at client authentication; a client_id alone is fine', async () => {
    const basic = await request(t.app)
      .post('/oauth/token')
      .auth('an-app-of-ours', 'a secret')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: pat });
    expectOAuthError(basic, 401, 'invalid_client');
    expect(basic.headers['www-authenticate']).toBe('Basic realm="latchkey"');
    const attempts: Record<string, string>[] = [
      { client_secret: 's' },
      { client_assertion: 'x.y.z', client_assertion_type: 'urn:x' },
    ];
    for (const attempt of attempts) {
      const res = await token({ grant_type: 'refresh_token', refresh_token: pat, client_id: 'a', ...attempt });
      expectOAuthError(res, 401, 'invalid_client');
    }
    expect((await token({ grant_type: 'refresh_token', refresh_token: pat, client_id: 'anything' })).status).toBe(200);
    // A Bearer token is no client authentication: not looked at.
    expect(
      (
        await request(t.app)
          .post('/oauth/token')
          .set(bearer('whatever'))
          .type('form')
          .send({ grant_type: 'refresh_token', refresh_token: pat })
      ).status,
    ).toBe(200);
  });

  it('answers another method with 405 and Allow, in the same shape', async () => {
    const res = await request(t.app).get('/oauth/token');
    expectOAuthError(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('POST, OPTIONS');
  });

  it('a PAT sent as an access token is refused with RFC 6750’s invalid_token, and says where to exchange it', async () => {
    const res = await whoami(pat);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
    expect(res.body.code).toBe('refresh_token_as_access');
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('answers 200 with an empty body for an unknown, invalid or already revoked token, and any hint', async () => {
    const pat = (await createPat(t, owner)).token;
    expect((await revoke({ token: pat, token_type_hint: 'refresh_token' })).status).toBe(200);
    const forms: Record<string, string>[] = [
      { token: pat },
      { token: 'garbage' },
      { token: 'lkt_nope' },
      { token: 'a.b.c', token_type_hint: 'access_token' },
      { token: pat.split('.').slice(0, 2).join('.'), token_type_hint: 'something_else' },
    ];
    for (const form of forms) {
      const res = await revoke(form);
      expect({ form, status: res.status, text: res.text }).toEqual({ form, status: 200, text: '' });
    }
  });

  it('revokes an expired PAT too (its signature is the authority), recorded in the audit trail', async () => {
    const { token: expired, id } = await createPat(t, owner, { expires_in_days: 1 });
    const start = t.clock();
    t.clock.advance(2 * 86_400);
    try {
      expect((await revoke({ token: expired })).status).toBe(200);
    } finally {
      t.clock.set(start);
    }
    const audit = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/audit-events`)
      .set(bearer(await loginAccess(t, owner)));
    expect(audit.body.results).toContainEqual(
      expect.objectContaining({
        action: 'pat.revoked',
        target_id: String(id),
        details: expect.objectContaining({ via: 'oauth_revoke' }),
      }),
    );
  });

  it('refuses to pretend an access token is revoked: unsupported_token_type, and the token keeps working', async () => {
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    expectOAuthError(await revoke({ token: access, token_type_hint: 'access_token' }), 400, 'unsupported_token_type');
    expect((await whoami(access)).status).toBe(200);
  });

  it('invalid_request without a token, or with the parameters as JSON; invalid_client for a client secret', async () => {
    expectOAuthError(await revoke(''), 400, 'invalid_request');
    expectOAuthError(await revoke({ token_type_hint: 'refresh_token' }), 400, 'invalid_request');
    expectOAuthError(await revoke('token=a&token=b'), 400, 'invalid_request');
    expectOAuthError(await request(t.app).post('/oauth/revoke').send({ token: 'x' }), 400, 'invalid_request');
    expectOAuthError(await revoke({ token: 'x', client_id: 'a', client_secret: 'b' }), 401, 'invalid_client');
  });

  it('leaves the Label Studio endpoints as they were', async () => {
    const pat = (await createPat(t, owner)).token;
    expect((await request(t.app).post('/api/token/refresh').send({ refresh: pat })).body).toEqual({
      access: expect.any(String),
    });
    const missing = await request(t.app).post('/api/token/blacklist').send({});
    expect(missing.body).toMatchObject({ status_code: 400, code: 'validation_error' });
  });
});
