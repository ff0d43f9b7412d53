/**
 * A token failing several checks is refused with the code of the first in order: shape →
 * signature → type → iss/aud and the claims' shape → exp. Each token here is signed with our
 * key (so only the claims fail) and is also expired, unless said otherwise.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, refreshAccess } from '../support/factories';
import { resign } from '../support/forge';

let t: TestApp;
let pat: string;
let access: string;

beforeAll(async () => {
  t = await startTestApp();
  const alice = await createMember(t, { role: 'owner' });
  pat = (await createPat(t, alice)).token;
  access = await refreshAccess(t, pat);
});
afterAll(() => t.close());

type Changes = { header?: Record<string, unknown>; payload?: Record<string, unknown> };

/** An `exp` the frozen clock is past, leeway included. */
const expired = () => Math.floor(t.clock() / 1000) - t.config.jwt.leewaySeconds - 1;

function refused(res: request.Response, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code });
  expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
}

const refresh = (token: string) => request(t.app).post('/api/token/refresh').send({ refresh: token });
const whoami = (token: string) => request(t.app).get('/api/current-user/whoami').set(bearer(token));

describe('a PAT failing several checks', () => {
  it.each<[string, Changes, string]>([
    ['the access token_type', { payload: { token_type: 'access' } }, 'token_wrong_type'],
    ['the at+jwt typ', { header: { typ: 'at+jwt' } }, 'token_wrong_type'],
    ['another issuer', { payload: { iss: 'https://evil.example' } }, 'token_invalid'],
    ['an audience', { payload: { aud: 'https://latchkey.example' } }, 'token_invalid'],
    ['a jti we never issue', { payload: { jti: 'not-hex' } }, 'token_invalid'],
    ['an iat that is not a number', { payload: { iat: '0' } }, 'token_invalid'],
    ['a future nbf', { payload: { nbf: 4_000_000_000 } }, 'token_invalid'],
  ])('expired, with %s, is refused for the latter', async (_case, changes, code) => {
    const token = await resign(t, pat, { ...changes, payload: { ...changes.payload, exp: expired() } });
    refused(await refresh(token), code);
  });

  it('with the access typ and another issuer is refused as of the wrong type', async () => {
    const token = await resign(t, pat, { header: { typ: 'at+jwt' }, payload: { iss: 'https://evil.example' } });
    refused(await refresh(token), 'token_wrong_type');
  });

  it('without exp is invalid', async () => {
    refused(await refresh(await resign(t, pat, { payload: { exp: undefined } })), 'token_invalid');
  });

  it('expired and nothing else is expired, and may still be revoked', async () => {
    const token = await resign(t, pat, { payload: { exp: expired() } });
    refused(await refresh(token), 'token_expired');
    expect((await request(t.app).post('/api/token/blacklist/').send({ refresh: token })).status).toBe(204);
  });
});

describe('an access token failing several checks', () => {
  it.each<[string, Changes, string]>([
    ['the JWT typ', { header: { typ: 'JWT' } }, 'token_wrong_type'],
    ['the refresh token_type', { payload: { token_type: 'refresh' } }, 'token_wrong_type'],
    ['another audience', { payload: { aud: 'https://other.example' } }, 'token_invalid'],
    ['another issuer', { payload: { iss: 'https://other.example' } }, 'token_invalid'],
    ['neither a PAT nor a session', { payload: { pat: undefined } }, 'token_invalid'],
    ['no role', { payload: { role: undefined } }, 'token_invalid'],
  ])('expired, with %s, is refused for the latter', async (_case, changes, code) => {
    const token = await resign(t, access, { ...changes, payload: { ...changes.payload, exp: expired() } });
    refused(await whoami(token), code);
  });

  it('expired, and claiming a lifetime past the longest TTL, is expired (exp is checked first)', async () => {
    const exp = expired();
    refused(await whoami(await resign(t, access, { payload: { exp, iat: exp - 7200 } })), 'token_expired');
  });

  it('an expired PAT used as one is still told to go to /api/token/refresh', async () => {
    refused(await whoami(await resign(t, pat, { payload: { exp: expired() } })), 'refresh_token_as_access');
  });
});
