import express from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { readMigrations } from '../../src/db/migrator';
import { fail, sendError, toAppError } from '../../src/errors';
import { requestContext } from '../../src/http/request-context';
import { captureLogs, startTestApp, testConfig, type TestApp } from '../support/app';

/** The contract's error body, with the request id echoed in the header. */
function expectErrorBody(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual(
    expect.objectContaining({ id: res.headers['x-request-id'], status_code: status, code, detail: expect.any(String) }),
  );
  expect(res.body.id).toBeTruthy();
}

describe('HTTP skeleton', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('liveness and readiness', () => {
    it('GET /healthz answers 200 without touching the database', async () => {
      const res = await request(t.app).get('/healthz').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /readyz answers 200 when the database is reachable and migrated', async () => {
      const res = await request(t.app).get('/readyz').expect(200);
      expect(res.body).toEqual({
        status: 'ready',
        checks: { database: 'ok', migrations: `${(await readMigrations()).length} applied` },
      });
    });

    it('GET /readyz answers 503 while a migration is pending', async () => {
      const ahead = await startTestApp({
        migrations: [...(await readMigrations()), { name: '20991231000000_future', sql: '', checksum: '0'.repeat(64) }],
      });
      try {
        const res = await request(ahead.app).get('/readyz');
        expectErrorBody(res, 503, 'service_unavailable');
        expect(res.body.detail).toBe('Migrations pending: 20991231000000_future.');
        expect(res.headers['retry-after']).toBe('1');
        await request(ahead.app).get('/healthz').expect(200);
      } finally {
        await ahead.close();
      }
    });

    it('GET /readyz answers 503 before the database is connected', async () => {
      const app = createApp({
        config: testConfig(),
        logger: captureLogs().logger,
        services: () => undefined,
        migrations: [],
      });
      const res = await request(app).get('/readyz');
      expectErrorBody(res, 503, 'service_unavailable');
      expect(res.body.detail).toBe('Database is not connected yet.');
    });

    it('GET /readyz answers 503, not a hang, when the database has gone away', async () => {
      const gone = await startTestApp();
      await gone.database.pool.end();
      try {
        const res = await request(gone.app).get('/readyz');
        expectErrorBody(res, 503, 'service_unavailable');
        expect(res.body.detail).toBe('Database is unreachable.');
      } finally {
        await gone.close();
      }
    });
  });

  describe('routing', () => {
    it.each(['/healthz', '/healthz/', '/readyz', '/readyz/'])('serves %s directly, with no redirect', async (path) => {
      await request(t.app).get(path).expect(200);
    });

    it('answers an unknown path with a JSON 404 in the contract shape', async () => {
      const res = await request(t.app).get('/api/nothing-here');
      expectErrorBody(res, 404, 'not_found');
      expect(res.body.detail).toBe('Not found.');
    });

    it('answers a known path with the wrong method with a JSON 405 and Allow', async () => {
      const res = await request(t.app).delete('/healthz/');
      expectErrorBody(res, 405, 'method_not_allowed');
      expect(res.body.detail).toBe('Method "DELETE" not allowed.');
      expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
    });

    it('answers HEAD like GET, without a body', async () => {
      const res = await request(t.app).head('/healthz').expect(200);
      expect(res.text).toBeUndefined();
    });
  });

  describe('request bodies', () => {
    it('answers malformed JSON with 400 malformed_body, never a 500', async () => {
      const res = await request(t.app)
        .post('/api/anything')
        .set('Content-Type', 'application/json')
        .send('{"refresh": ');
      expectErrorBody(res, 400, 'malformed_body');
    });

    it('answers a JSON scalar body with 400 (objects and arrays only)', async () => {
      const res = await request(t.app)
        .post('/api/anything')
        .set('Content-Type', 'application/json')
        .send('"just a string"');
      expectErrorBody(res, 400, 'malformed_body');
    });

    it('answers a body over 16 KiB with 413, JSON and form alike', async () => {
      const big = 'a'.repeat(16 * 1024 + 1);
      expectErrorBody(
        await request(t.app)
          .post('/api/anything')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ big })),
        413,
        'payload_too_large',
      );
      expectErrorBody(
        await request(t.app)
          .post('/api/anything')
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send(`big=${big}`),
        413,
        'payload_too_large',
      );
    });

    it('accepts a body of just under 16 KiB (the route then decides: here, 404)', async () => {
      const res = await request(t.app)
        .post('/api/anything')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ a: 'a'.repeat(16 * 1024 - 20) }));
      expectErrorBody(res, 404, 'not_found');
    });

    it.each(['text/plain', 'application/xml', 'multipart/form-data; boundary=x'])(
      'answers a %s body with 415',
      async (type) => {
        const res = await request(t.app).post('/api/anything').set('Content-Type', type).send('refresh=x');
        expectErrorBody(res, 415, 'unsupported_media_type');
      },
    );

    it('answers a body without any content type with 415', async () => {
      const res = await request(t.app).post('/api/anything').set('Content-Length', '3').send(Buffer.from('abc'));
      expect(res.status).toBe(415);
    });

    it('accepts form bodies and bodiless POSTs', async () => {
      expectErrorBody(await request(t.app).post('/api/anything').type('form').send('refresh=abc'), 404, 'not_found');
      expectErrorBody(await request(t.app).post('/api/anything'), 404, 'not_found');
    });

    it('answers an unsupported charset with 415', async () => {
      const res = await request(t.app)
        .post('/api/anything')
        .set('Content-Type', 'application/json; charset=klingon')
        .send('{}');
      expectErrorBody(res, 415, 'unsupported_media_type');
    });
  });

  describe('request ids and headers', () => {
    it('gives every response an X-Request-Id, new for each request', async () => {
      const a = await request(t.app).get('/healthz');
      const b = await request(t.app).get('/healthz');
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it('keeps a plain caller-supplied request id and replaces an unsafe one', async () => {
      expect((await request(t.app).get('/nope').set('X-Request-Id', 'trace-42.a_b')).body.id).toBe('trace-42.a_b');
      const res = await request(t.app).get('/nope').set('X-Request-Id', 'bad id\twith "quotes"');
      expect(res.body.id).not.toContain('bad');
      expect(res.headers['x-request-id']).toBe(res.body.id);
    });

    it('sends a JSON API’s security headers, and no X-Powered-By', async () => {
      for (const path of ['/healthz', '/nowhere']) {
        const res = await request(t.app).get(path);
        expect(res.headers).toMatchObject({
          'content-security-policy': "default-src 'none';frame-ancestors 'none'",
          'cross-origin-resource-policy': 'same-origin',
          'referrer-policy': 'no-referrer',
          'strict-transport-security': 'max-age=31536000; includeSubDomains',
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
        });
        for (const absent of [
          'x-powered-by',
          'x-xss-protection',
          'x-dns-prefetch-control',
          'x-download-options',
          'origin-agent-cluster',
        ]) {
          expect(res.headers[absent]).toBeUndefined();
        }
      }
    });
  });

  describe('JSON bodies', () => {
    /** The body as sent: the JSON unchanged, then one newline, counted in Content-Length. */
    function expectNewlineEnded(res: request.Response) {
      expect(res.headers['content-type']).toMatch(/^application\/([a-z-]+\+)?json; charset=utf-8$/);
      expect(res.text).toMatch(/[}\]]\n$/);
      expect(res.text.endsWith('\n\n')).toBe(false);
      expect(JSON.parse(res.text)).toEqual(res.body);
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    }

    it('end with a newline, so that what curl prints does not run into the prompt: a success', async () => {
      const res = await request(t.app).get('/healthz').expect(200);
      expect(res.text).toBe('{"status":"ok"}\n');
      expectNewlineEnded(res);
    });

    it.each([
      ['an error', () => request(t.app).post('/api/token/refresh').send({}), 400],
      ['the 404', () => request(t.app).get('/api/nothing-here'), 404],
      ['the 405', () => request(t.app).delete('/healthz'), 405],
      [
        'an OAuth error (RFC 6749)',
        () => request(t.app).post('/oauth/token').type('form').send('grant_type=password'),
        400,
      ],
      ['the OpenAPI document', () => request(t.app).get('/api/openapi.json'), 200],
      ['the JWK Set', () => request(t.app).get('/.well-known/jwks.json'), 200],
      ['the authorization server metadata', () => request(t.app).get('/.well-known/oauth-authorization-server'), 200],
    ])('end with a newline: %s', async (_what, send, status) => {
      const res = await send();
      expect(res.status).toBe(status);
      expectNewlineEnded(res);
    });
  });
});

describe('the error serializer', () => {
  const app = express();
  const logs = captureLogs();
  app.use(requestContext(logs.logger));
  app.get('/throw/:kind', (req) => {
    switch (req.params.kind) {
      case 'anonymous':
        throw fail('not_authenticated');
      case 'bad-bearer':
        throw fail('token_expired', { detail: 'Token is "expired"' });
      case 'bad-legacy':
        // As the resolver notes a legacy token (`Authorization: Token ...`) before checking it.
        req.credentialScheme = 'Token';
        throw fail('token_invalid', { detail: 'Invalid token.' });
      case 'scope':
        req.credentialScheme = 'Bearer';
        throw fail('permission_denied');
      case 'fields':
        throw fail('validation_error', { fields: { refresh: ['This field is required.'] } });
      default:
        throw new Error('database password is hunter2');
    }
  });
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) =>
    sendError(req, res, toAppError(err)),
  );

  it('challenges a 401 without credentials with a bare Bearer realm (RFC 6750 §3)', async () => {
    const res = await request(app).get('/throw/anonymous').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="latchkey"');
  });

  it('names the error of a failed Bearer token, escaping quotes', async () => {
    const res = await request(app).get('/throw/bad-bearer').expect(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="latchkey", error="invalid_token", error_description="Token is \\"expired\\""',
    );
    expect(res.body.code).toBe('token_expired');
  });

  it('challenges a failed legacy token with the Token scheme', async () => {
    expect((await request(app).get('/throw/bad-legacy').expect(401)).headers['www-authenticate']).toBe(
      'Token realm="latchkey"',
    );
  });

  it('sends insufficient_scope on a Bearer 403', async () => {
    expect((await request(app).get('/throw/scope').expect(403)).headers['www-authenticate']).toBe(
      'Bearer realm="latchkey", error="insufficient_scope"',
    );
  });

  it('adds validation_errors to a 400', async () => {
    const res = await request(app).get('/throw/fields').expect(400);
    expect(res.body.validation_errors).toEqual({ refresh: ['This field is required.'] });
  });

  it('turns an unexpected error into an opaque 500 that leaks nothing', async () => {
    const res = await request(app).get('/throw/boom').expect(500);
    expect(res.body).toEqual({
      id: res.headers['x-request-id'],
      status_code: 500,
      code: 'internal_error',
      detail: 'Internal server error.',
    });
    expect(res.text).not.toContain('hunter2');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});
