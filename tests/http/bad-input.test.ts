/** The fuzzer's 500s, each sent as it was found: bad input is a 400 in the contract's shape, and logs no error. */
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createApp } from '../../src/app';
import { captureLogs, startTestApp, testConfig, type TestApp } from '../support/app';
import { bearer, createMember, loginAccess, type Member } from '../support/factories';

let t: TestApp;
let owner: Member;
let headers: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  headers = bearer(await loginAccess(t, owner));
});
afterAll(() => t.close());

/** Nothing at error level or above (pino's 50): a client must not be able to write stacks into the log. */
afterEach(() => {
  const errors = t.logs.lines.map((line) => JSON.parse(line)).filter((line) => line.level >= 50);
  t.logs.lines.length = 0;
  expect(errors).toEqual([]);
});

function expect400(res: request.Response, code: string) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 400,
    body: expect.objectContaining({
      id: res.headers['x-request-id'],
      status_code: 400,
      code,
      detail: expect.any(String),
    }),
  });
}

describe('a malformed percent-escape in a path parameter', () => {
  it.each([
    ['DELETE', '/api/token/%ff/'],
    ['GET', '/api/organizations/%/memberships'],
    ['PATCH', '/api/organizations/1/memberships/%E0%A4%A'],
    ['DELETE', '/api/organizations/%zz/tokens/pat/1'],
  ])('%s %s is 400 malformed_request, before authentication', async (method, path) => {
    const res = await request(t.app)[method.toLowerCase() as 'get'](path);
    expect400(res, 'malformed_request');
    expect(res.body.detail).not.toContain('%');
  });
});

describe('a field named after an Object.prototype member', () => {
  const PROTOTYPE_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

  it.each(PROTOTYPE_KEYS)('POST /api/jwt/settings with JSON key %s is 400 validation_error naming it', async (key) => {
    const res = await request(t.app)
      .post('/api/jwt/settings')
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(`{"${key}": 1}`);
    expect400(res, 'validation_error');
    expect(JSON.parse(res.text).validation_errors).toEqual(JSON.parse(`{"${key}": ["Unknown field."]}`));
  });

  it.each(PROTOTYPE_KEYS.filter((key) => key !== '__proto__'))(
    'POST /api/jwt/settings with form key %s is 400 validation_error naming it',
    async (key) => {
      const res = await request(t.app).post('/api/jwt/settings').set(headers).type('form').send(`${key}=1`);
      expect400(res, 'validation_error');
      expect(Object.keys(res.body.validation_errors)).toEqual([key]);
    },
  );

  it('POST /api/jwt/settings with form key __proto__: the form parser (qs) drops it, leaving an empty patch', async () => {
    const res = await request(t.app).post('/api/jwt/settings').set(headers).type('form').send('__proto__=1');
    expect(res.status).toBe(200);
  });
});

describe('a role whose toString is not callable', () => {
  const role = '{"role": {"toString": 1}}';

  it('on PAT creation is 400 validation_error', async () => {
    const res = await request(t.app)
      .post('/api/token/')
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(role);
    expect400(res, 'validation_error');
    expect(res.body.validation_errors.role).toEqual([expect.any(String)]);
  });

  it('on membership add is 400 validation_error', async () => {
    const body = '{"email": "new@example.com", "password": "long enough", "role": {"toString": 1}}';
    const res = await request(t.app)
      .post(`/api/organizations/${owner.organizationId}/memberships`)
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(body);
    expect400(res, 'validation_error');
    expect(Object.keys(res.body.validation_errors)).toEqual(['role']);
  });

  it('on membership patch is 400 validation_error', async () => {
    const res = await request(t.app)
      .patch(`/api/organizations/${owner.organizationId}/memberships/${owner.userId}`)
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(role);
    expect400(res, 'validation_error');
  });

  it('still names a plain wrong value, as Django REST framework does', async () => {
    const res = await request(t.app).post('/api/token/').set(headers).send({ role: 'emperor' });
    expect(res.body.validation_errors).toEqual({ role: ['"emperor" is not a valid choice.'] });
  });
});

describe('further 500s the fuzz test (fuzz.test.ts) found', () => {
  /** Sends a Buffer as its bytes (superagent would JSON-encode it under a JSON content type). */
  const raw = (body: unknown) => body as string;

  it.each([
    ['gzip', Buffer.from('{"refresh": "x"}')],
    ['deflate', Buffer.from('not deflated')],
    ['br', Buffer.from('not brotli')],
    ['gzip', gzipSync('{"refresh": "x"}').subarray(0, 12)],
  ])('a body that does not decode under Content-Encoding: %s is 400 malformed_body', async (encoding, bytes) => {
    const res = await request(t.app)
      .post('/api/token/refresh')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', encoding)
      .serialize(raw)
      .send(bytes);
    expect400(res, 'malformed_body');
  });

  it('a body that does decode is parsed as usual', async () => {
    const res = await request(t.app)
      .post('/api/token/refresh')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize(raw)
      .send(gzipSync('{"refresh": ""}'));
    expect(res.body.validation_errors).toEqual({ refresh: ['This field may not be blank.'] });
  });

  // Postgres text cannot hold NUL (22021), jsonb refuses a lone surrogate: refuse both as Django REST framework does.
  it.each([
    ['POST', '/api/token/', '{"name": "a\\u0000b"}', 'name', 'Null characters are not allowed.'],
    ['POST', '/api/token/', '{"name": "a\\ud800b"}', 'name', 'Not a valid string.'],
    ['POST', '/api/organizations', '{"title": "a\\u0000b"}', 'title', 'Null characters are not allowed.'],
    [
      'POST',
      '/api/auth/login',
      '{"email": "a\\u0000@example.com", "password": "x"}',
      'email',
      'Null characters are not allowed.',
    ],
  ])('%s %s %s is 400 validation_error', async (method, path, body, field, message) => {
    const agent = request(t.app);
    const res = await agent[method.toLowerCase() as 'post'](path)
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(body);
    expect400(res, 'validation_error');
    expect(res.body.validation_errors).toEqual({ [field]: [message] });
  });

  it("a NUL in a new member's name is 400 validation_error", async () => {
    const body = JSON.stringify({
      email: 'nul@example.com',
      role: 'annotator',
      password: 'long enough',
      first_name: 'a\u0000b',
      last_name: '\u0000',
    });
    const res = await request(t.app)
      .post(`/api/organizations/${owner.organizationId}/memberships`)
      .set(headers)
      .set('Content-Type', 'application/json')
      .send(body);
    expect400(res, 'validation_error');
    expect(res.body.validation_errors).toEqual({
      first_name: ['Null characters are not allowed.'],
      last_name: ['Null characters are not allowed.'],
    });
  });
});

describe('a genuine fault', () => {
  it('is still an opaque 500, logged at error level with its stack', async () => {
    const logs = captureLogs();
    const app = createApp({
      config: testConfig(),
      logger: logs.logger,
      services: () => {
        throw new TypeError('wiring bug: services resolved to secret hunter2');
      },
      migrations: [],
    });
    const res = await request(app).get('/api/token/');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      id: res.headers['x-request-id'],
      status_code: 500,
      code: 'internal_error',
      detail: 'Internal server error.',
    });
    expect(res.text).not.toContain('hunter2');
    const errors = logs.lines.map((line) => JSON.parse(line)).filter((line) => line.level >= 50);
    expect(errors).toEqual([
      expect.objectContaining({
        msg: 'unhandled error',
        reqId: res.headers['x-request-id'],
        err: expect.objectContaining({ message: expect.stringContaining('wiring bug'), stack: expect.any(String) }),
      }),
    ]);
  });
});
