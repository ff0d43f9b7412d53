/**
 * The error catalogue and its serializer, without a database: one status per code, a
 * challenge on every 401 in the scheme of the credential the request presented, and no 5xx
 * that says more than our own words.
 */
import express from 'express';
import request from 'supertest';
import { requireAuth } from '../../src/auth/authenticate';
import type { Context } from '../../src/context';
import {
  challengeFor,
  ERRORS,
  fail,
  sendError,
  toAppError,
  wireCode,
  type CredentialScheme,
  type ErrorCode,
} from '../../src/errors';
import { Tagger } from '../../src/secrets';
import { authenticateLegacy } from '../../src/legacy/legacy.service';
import { authenticateSession } from '../../src/sessions/sessions.service';
import { authenticateBearer } from '../../src/tokens/access-token';

const CODES = Object.keys(ERRORS) as ErrorCode[];
const CREDENTIALS: (CredentialScheme | undefined)[] = [undefined, 'Bearer', 'Token', 'Session'];

describe('the catalogue', () => {
  it.each(CODES)('%s has one status, which fail() gives it whatever the call site says', (code) => {
    const { status } = ERRORS[code];
    expect(Number.isInteger(status) && status >= 400 && status <= 599).toBe(true);
    expect(fail(code).status).toBe(status);
    expect(fail(code, { detail: 'other words', headers: { 'X-Other': '1' } }).status).toBe(status);
  });

  it('sends each code with one status, but for the 401 and 403 the contract both names token_type_disabled', () => {
    const statuses = new Map<string, Set<number>>();
    for (const code of CODES) {
      const sent = wireCode(code);
      statuses.set(sent, (statuses.get(sent) ?? new Set()).add(ERRORS[code].status));
    }
    const shared = [...statuses].filter(([, seen]) => seen.size > 1).map(([code, seen]) => [code, [...seen].sort()]);
    expect(shared).toEqual([['token_type_disabled', [401, 403]]]);
  });

  it('falls back to the default detail, and keeps the default headers under the call site’s', () => {
    expect(fail('token_expired').detail).toBe('Token is expired');
    expect(fail('service_unavailable').options.headers).toEqual({ 'Retry-After': '1' });
    expect(fail('service_unavailable', { headers: { 'Retry-After': '5' } }).options.headers).toEqual({
      'Retry-After': '5',
    });
  });
});

describe('challenges', () => {
  const unauthorized = CODES.filter((code) => ERRORS[code].status === 401);

  it.each(unauthorized)('%s is always challenged, in the scheme of the credential sent', (code) => {
    for (const credential of CREDENTIALS) {
      const challenge = challengeFor(credential, fail(code));
      expect(challenge).toMatch(credential === 'Token' ? /^Token realm="latchkey"$/ : /^Bearer realm="latchkey"/);
    }
  });

  it('names the RFC 6750 error of a token refused as Bearer, never of a session cookie', () => {
    const expired = fail('token_expired');
    for (const credential of [undefined, 'Bearer'] as const) {
      expect(challengeFor(credential, expired)).toBe(
        'Bearer realm="latchkey", error="invalid_token", error_description="Token is expired"',
      );
    }
    expect(challengeFor('Session', fail('session_ended'))).toBe('Bearer realm="latchkey"');
    expect(challengeFor(undefined, fail('not_authenticated'))).toBe('Bearer realm="latchkey"');
  });

  it('challenges a 403 only when a Bearer token was used', () => {
    expect(challengeFor('Bearer', fail('permission_denied'))).toBe(
      'Bearer realm="latchkey", error="insufficient_scope"',
    );
    expect(challengeFor('Bearer', fail('token_creation_disabled'))).toBe(
      'Bearer realm="latchkey", error="insufficient_scope"',
    );
    for (const credential of [undefined, 'Token', 'Session'] as const)
      expect(challengeFor(credential, fail('permission_denied'))).toBeUndefined();
  });

  it('challenges nothing else', () => {
    for (const code of CODES.filter((c) => ![401, 403].includes(ERRORS[c].status)))
      for (const credential of CREDENTIALS) expect(challengeFor(credential, fail(code))).toBeUndefined();
  });
});

describe('the scheme follows the credential the request presented', () => {
  /** Every refusal below comes before any lookup: the context has the tag key and the verifiers, and nothing else may be read. */
  const tags = new Tagger('a test secret key of at least thirty-two characters');
  const verifiers = { access: authenticateBearer, legacy: authenticateLegacy, session: authenticateSession };
  const untouchable = new Proxy({} as Context, {
    get: (_target, name) => {
      if (name === 'tags') return tags;
      if (name === 'verifiers') return verifiers;
      throw new Error(`the context was read (${String(name)})`);
    },
  });
  const app = express();
  app.use((req, _res, next) => {
    req.id = 'test';
    next();
  });
  app.get(
    '/protected',
    requireAuth(() => untouchable),
    (_req, res) => {
      res.end();
    },
  );
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) =>
    sendError(req, res, toAppError(err)),
  );

  it.each([
    [{ Authorization: 'Token abc123' }, 'token_invalid', 'Token realm="latchkey"'],
    [{ Authorization: 'token abc 123' }, 'token_malformed', 'Token realm="latchkey"'],
    [{ 'X-Api-Key': 'abc123' }, 'token_invalid', 'Token realm="latchkey"'],
    [{ Authorization: 'Bearer' }, 'token_malformed', /^Bearer realm="latchkey", error="invalid_token"/],
    [{ Authorization: 'BEARER a b' }, 'token_malformed', /^Bearer realm="latchkey", error="invalid_token"/],
    [{ Authorization: 'Basic dXNlcjpwYXNz' }, 'not_authenticated', 'Bearer realm="latchkey"'],
    [{}, 'not_authenticated', 'Bearer realm="latchkey"'],
  ] as const)('%j → 401 %s, %s', async (headers, code, challenge) => {
    const res = await request(app).get('/protected').set(headers);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code });
    expect(res.headers['www-authenticate']).toMatch(challenge);
  });
});

describe('5xx bodies', () => {
  const app = express();
  app.get('/throw/:code', (req) => {
    const code = req.params.code as ErrorCode;
    throw code in ERRORS ? fail(code, { cause: new Error('password hunter2') }) : new Error('password hunter2');
  });
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    req.id = 'test';
    sendError(req, res, toAppError(err));
  });

  it.each([...CODES.filter((code) => ERRORS[code].status >= 500), 'an unexpected error'])(
    '%s never leaks its cause',
    async (code) => {
      const res = await request(app).get(`/throw/${code}`);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.text).not.toContain('hunter2');
      expect(res.body.detail).toBe(ERRORS[res.body.code as ErrorCode].detail);
    },
  );
});

describe('the RFC 6749 §5.2 shape of the standard OAuth endpoints', () => {
  const app = express();
  app.post('/oauth/:code', (req) => {
    req.errorFormat = 'oauth';
    const code = req.params.code as ErrorCode;
    throw code in ERRORS ? fail(code, { cause: new Error('password hunter2') }) : new Error('password hunter2');
  });
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    req.id = 'test';
    sendError(req, res, toAppError(err));
  });
  const RFC_CODES = [
    'invalid_request',
    'invalid_client',
    'invalid_grant',
    'unsupported_grant_type',
    'invalid_scope',
    'unsupported_token_type',
    'server_error',
    'temporarily_unavailable',
  ];

  it.each([...CODES, 'an unexpected error'])('%s is {error, error_description}, never cached', async (code) => {
    const res = await request(app).post(`/oauth/${code}`);
    expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
    expect(RFC_CODES).toContain(res.body.error);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).not.toContain('hunter2');
    // A 4xx of the contract is 400 invalid_request (§5.2), but for a 405's own status and invalid_client's 401.
    if (res.status < 500) expect([400, 401, 405]).toContain(res.status);
    expect(res.status === 401).toBe(res.body.error === 'invalid_client');
    if (res.status === 401) expect(res.headers['www-authenticate']).toBe('Basic realm="latchkey"');
  });

  it('names the RFCs’ codes for their own errors, and maps the rest', async () => {
    const seen = async (code: string) => {
      const res = await request(app).post(`/oauth/${code}`);
      return [res.status, res.body.error];
    };
    expect(await seen('invalid_grant')).toEqual([400, 'invalid_grant']);
    expect(await seen('unsupported_media_type')).toEqual([400, 'invalid_request']);
    expect(await seen('payload_too_large')).toEqual([400, 'invalid_request']);
    expect(await seen('method_not_allowed')).toEqual([405, 'invalid_request']);
    expect(await seen('service_unavailable')).toEqual([503, 'temporarily_unavailable']);
    expect(await seen('internal_error')).toEqual([500, 'server_error']);
    expect(await seen('an unexpected error')).toEqual([500, 'server_error']);
  });
});
