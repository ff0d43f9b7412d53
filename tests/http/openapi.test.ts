/**
 * The OpenAPI document (`GET /api/openapi.json`) and the reference page (`GET /api/docs`):
 * the document is OpenAPI 3.1 in shape and every schema in it compiles as JSON Schema 2020-12;
 * it describes exactly the routes the app serves, with their methods; real answers, successes
 * and errors, validate against the schema it gives for their path, method and status; and the
 * page loads only same-origin files that exist, under its own Content-Security-Policy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request, { type Response } from 'supertest';
import { ANY_METHOD, openApiPath } from '../../src/http/openapi';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, createMember, createPat, loginAccess, refreshAccess, type Member } from '../support/factories';
import { servedRoutes } from '../support/routes';

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
  parameters?: { schema: Json }[];
  requestBody?: { content: Record<string, { schema: Json }> };
}

const ROOT = path.resolve(__dirname, '../..');
const COMPONENT = 'urn:latchkey:openapi:';

let t: TestApp;
let doc: {
  openapi: string;
  info: Json;
  servers: Json[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
};
let ajv: Ajv2020;
let owner: Member;

/** A schema of the document as ajv can compile it alone: component references point at the components added to ajv. */
const standalone = (schema: Json): Json =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENT}`)) as Json;

beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
  const res = await request(t.app).get('/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  // Strict, so that a keyword misplaced or misspelled fails; `type: [a, b]` is plain 2020-12.
  ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas))
    ajv.addSchema(standalone(schema), `${COMPONENT}${name}`);
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path: p, method, operation })),
  );

describe('the document', () => {
  it('is OpenAPI 3.1, of this build, served at the configured issuer, and cacheable briefly without credentials', async () => {
    const res = await request(t.app).get('/api/openapi.json');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(doc.info).toMatchObject({ title: 'Latchkey', version });
    expect(doc.servers).toEqual([{ url: t.config.issuer }]);
    expect(Object.keys((doc.components as unknown as { securitySchemes: Json }).securitySchemes).sort()).toEqual([
      'apiKey',
      'bearer',
      'csrfToken',
      'legacyToken',
      'session',
    ]);
  });

  it('has operations with answers on every path, and unique operation ids', () => {
    const ids = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths)) {
      expect({ path: p, operations: Object.keys(item).length > 0 }).toEqual({ path: p, operations: true });
      for (const [method, operation] of Object.entries(item)) {
        expect(ANY_METHOD).toContain(method);
        expect({ path: p, method, answers: Object.keys(operation.responses).length > 0 }).toEqual({
          path: p,
          method,
          answers: true,
        });
        expect(ids.has(operation.operationId)).toBe(false);
        ids.add(operation.operationId);
      }
    }
  });

  it('holds only schemas that compile as JSON Schema 2020-12', () => {
    let compiled = 0;
    const compile = (where: string, schema: Json) => {
      expect(() => ajv.compile(standalone(schema))).not.toThrow();
      compiled++;
      return where;
    };
    for (const { path: p, method, operation } of operations()) {
      for (const parameter of operation.parameters ?? []) compile(`${method} ${p} parameter`, parameter.schema);
      for (const [type, { schema }] of Object.entries(operation.requestBody?.content ?? {}))
        compile(`${method} ${p} ${type}`, schema);
      for (const [status, answer] of Object.entries(operation.responses))
        for (const { schema } of Object.values(answer.content ?? {})) compile(`${method} ${p} ${status}`, schema);
    }
    expect(compiled).toBeGreaterThan(100);
  });
});

describe('coverage', () => {
  /** `METHOD /path` (Express's `:id`) for each operation; a path with every method is `ALL`, as servedRoutes says. */
  const documented = () =>
    Object.entries(doc.paths)
      .flatMap(([p, item]) => {
        const methods = Object.keys(item);
        const express = p.replace(/\{(\w+)\}/g, ':$1');
        return ANY_METHOD.every((m) => methods.includes(m))
          ? [`ALL ${express}`]
          : methods.map((m) => `${m.toUpperCase()} ${express}`);
      })
      .sort();

  it('documents every route the app serves, with its methods, and no other', () => {
    expect(documented()).toEqual(servedRoutes(t.app));
  });

  it('writes Express path parameters as OpenAPI templates, each declared', () => {
    expect(openApiPath('/api/organizations/:id/tokens/:type/:tokenId')).toBe(
      '/api/organizations/{id}/tokens/{type}/{tokenId}',
    );
    for (const { path: p, operation } of operations()) {
      const named = [...p.matchAll(/\{(\w+)\}/g)].map(([, name]) => name).sort();
      const declared = (operation.parameters ?? [])
        .filter((parameter) => (parameter as unknown as { in: string }).in === 'path')
        .map((parameter) => (parameter as unknown as { name: string }).name)
        .sort();
      expect({ path: p, declared }).toEqual({ path: p, declared: named });
    }
  });
});

describe('real answers validate against the documented schema', () => {
  const validators = new Map<string, ValidateFunction>();

  /** Checks `res` against the schema of `template`'s `method` at its status and content type. */
  function expectDocumented(res: Response, method: string, template: string): void {
    const operation = doc.paths[template]?.[method];
    expect({ method, template, documented: operation !== undefined }).toEqual({ method, template, documented: true });
    const answer = operation!.responses[String(res.status)];
    expect({ method, template, status: res.status, documented: answer !== undefined }).toEqual({
      method,
      template,
      status: res.status,
      documented: true,
    });
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
    if (!answer!.content) {
      expect(res.text ?? '').toBe('');
      return;
    }
    const media = answer!.content[type];
    expect({ method, template, type, documented: media !== undefined }).toEqual({
      method,
      template,
      type,
      documented: true,
    });
    const key = `${method} ${template} ${res.status} ${type}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(standalone(media!.schema));
      validators.set(key, validate);
    }
    const body: unknown = type.endsWith('json') ? JSON.parse(res.text) : res.text;
    validate(body);
    expect({ key, errors: validate.errors ?? null }).toEqual({ key, errors: null });
  }

  it('login, PATs, refresh, whoami, settings, members and introspection', async () => {
    const login = await request(t.app)
      .post('/api/auth/login')
      .send({ email: owner.email, password: 'correct horse battery staple' });
    expectDocumented(login, 'post', '/api/auth/login');
    const access = login.body.access as string;

    const created = await request(t.app)
      .post('/api/token/')
      .set(bearer(access))
      .send({ name: 'laptop', expires_in_days: 30 });
    expect(created.status).toBe(201);
    expectDocumented(created, 'post', '/api/token');

    const listed = await request(t.app).get('/api/token/').set(bearer(access));
    expect(listed.body).toHaveLength(1);
    expectDocumented(listed, 'get', '/api/token');

    const refreshed = await request(t.app).post('/api/token/refresh').send({ refresh: created.body.token });
    expectDocumented(refreshed, 'post', '/api/token/refresh');
    const patAccess = refreshed.body.access as string;

    expectDocumented(
      await request(t.app).get('/api/current-user/whoami').set(bearer(patAccess)),
      'get',
      '/api/current-user/whoami',
    );
    expectDocumented(await request(t.app).get('/api/jwt/settings').set(bearer(patAccess)), 'get', '/api/jwt/settings');

    const annotator = await createMember(t, { role: 'annotator', organizationId: owner.organizationId });
    const members = await request(t.app)
      .get(`/api/organizations/${owner.organizationId}/memberships?page_size=1`)
      .set(bearer(access));
    expect(members.body.count).toBe(2);
    expect(members.body.next).not.toBeNull();
    expectDocumented(members, 'get', '/api/organizations/{id}/memberships');

    for (const token of [patAccess, created.body.token as string, 'not a token']) {
      const introspected = await request(t.app)
        .post('/api/token/introspect')
        .set(bearer(access))
        .type('form')
        .send({ token });
      expect(introspected.status).toBe(200);
      expectDocumented(introspected, 'post', '/api/token/introspect');
    }

    const rotated = await request(t.app)
      .post('/api/token/rotate')
      .set(bearer(access))
      .send({ refresh: created.body.token });
    expectDocumented(rotated, 'post', '/api/token/rotate');
    expectDocumented(
      await request(t.app).post('/api/token/blacklist').send({ refresh: rotated.body.refresh }),
      'post',
      '/api/token/blacklist',
    );
    expectDocumented(
      await request(t.app)
        .get('/api/current-user/whoami')
        .set(bearer(await loginAccess(t, annotator))),
      'get',
      '/api/current-user/whoami',
    );
  });

  it('discovery, health and forward-auth', async () => {
    expectDocumented(await request(t.app).get('/.well-known/jwks.json'), 'get', '/.well-known/jwks.json');
    expectDocumented(
      await request(t.app).get('/.well-known/oauth-authorization-server'),
      'get',
      '/.well-known/oauth-authorization-server',
    );
    expectDocumented(await request(t.app).get('/healthz'), 'get', '/healthz');
    expectDocumented(await request(t.app).get('/readyz'), 'get', '/readyz');
    const pat = await createPat(t, owner);
    const verified = await request(t.app)
      .put('/api/auth/verify')
      .set(bearer(await refreshAccess(t, pat.token)));
    expect(verified.status).toBe(200);
    expectDocumented(verified, 'put', '/api/auth/verify');
  });

  it('a 401 and a 400 validation error, in the contract’s shape', async () => {
    const unauthenticated = await request(t.app).get('/api/current-user/whoami');
    expect(unauthenticated.status).toBe(401);
    expectDocumented(unauthenticated, 'get', '/api/current-user/whoami');

    const pat = await createPat(t, owner);
    const asAccess = await request(t.app).get('/api/token').set(bearer(pat.token));
    expect(asAccess.body.code).toBe('refresh_token_as_access');
    expectDocumented(asAccess, 'get', '/api/token');

    const invalid = await request(t.app)
      .post('/api/token/')
      .set(bearer(await loginAccess(t, owner)))
      .send({ expires_in_days: 0, role: 'emperor' });
    expect(invalid.status).toBe(400);
    expect(Object.keys(invalid.body.validation_errors).sort()).toEqual(['expires_in_days', 'role']);
    expectDocumented(invalid, 'post', '/api/token');

    const missing = await request(t.app).post('/api/token/refresh').send({});
    expect(missing.status).toBe(400);
    expectDocumented(missing, 'post', '/api/token/refresh');
  });

  it('an OAuth token answer, a revocation and OAuth errors, in RFC 6749’s shape', async () => {
    const pat = await createPat(t, owner);
    const granted = await request(t.app)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: pat.token, client_id: 'an-app' });
    expect(granted.status).toBe(200);
    expectDocumented(granted, 'post', '/oauth/token');

    const unsupported = await request(t.app).post('/oauth/token').type('form').send({ grant_type: 'password' });
    expect(unsupported.body.error).toBe('unsupported_grant_type');
    expectDocumented(unsupported, 'post', '/oauth/token');

    const client = await request(t.app)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: pat.token, client_secret: 'x' });
    expect(client.status).toBe(401);
    expectDocumented(client, 'post', '/oauth/token');

    const revoked = await request(t.app).post('/oauth/revoke').type('form').send({ token: pat.token });
    expect(revoked.status).toBe(200);
    expectDocumented(revoked, 'post', '/oauth/revoke');

    const grantRevoked = await request(t.app)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: pat.token });
    expect(grantRevoked.body.error).toBe('invalid_grant');
    expectDocumented(grantRevoked, 'post', '/oauth/token');

    const json = await request(t.app).post('/oauth/revoke').send({ token: pat.token });
    expect(json.body.error).toBe('invalid_request');
    expectDocumented(json, 'post', '/oauth/revoke');
  });

  it('refuses an answer the document does not describe (the check can fail)', async () => {
    const res = await request(t.app).get('/healthz');
    const operation = doc.paths['/healthz']!.get!;
    const validate = ajv.compile(standalone(operation.responses['200']!.content!['application/json']!.schema));
    expect(validate(res.body)).toBe(true);
    expect(validate({ ...res.body, extra: 1 })).toBe(false);
    expect(validate({ status: 'ready' })).toBe(false);
    const error = ajv.compile(
      standalone(doc.paths['/api/current-user/whoami']!.get!.responses['401']!.content!['application/json']!.schema),
    );
    const unauthenticated = (await request(t.app).get('/api/current-user/whoami')).body as Json;
    expect(error(unauthenticated)).toBe(true);
    expect(error({ ...unauthenticated, code: 'no_such_code' })).toBe(false);
    expect(error({ ...unauthenticated, status_code: 403 })).toBe(false);
  });
});

describe('GET /api/docs', () => {
  it('is an HTML page whose scripts and styles are same-origin files that exist, under its own CSP', async () => {
    const page = await request(t.app).get('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp.split('; ')).toEqual([
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${new URL(t.config.issuer).origin}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    expect(csp).not.toMatch(/unsafe|nonce|sha256/);

    // No inline script or style: every <script> has a src, and there is no <style> or style attribute.
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\ssrc="/);
      expect(body!.trim()).toBe('');
    }
    expect(page.text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);

    const sources = [...page.text.matchAll(/\s(?:src|href)="([^"]+)"/g)].map(([, url]) => url!);
    expect(sources).toEqual(expect.arrayContaining(['/api/docs/swagger-ui-bundle.js', '/api/docs/swagger-ui.css']));
    for (const source of sources) {
      expect(source).toMatch(/^\/api\/docs\//); // same origin, this server's path
      const res = await request(t.app).get(source);
      expect({ source, status: res.status }).toEqual({ source, status: 200 });
    }
    const initializer = sources.find((s) => s.endsWith('.js') && !s.includes('swagger-ui'))!;
    const init = await request(t.app).get(initializer);
    expect(init.headers['content-type']).toMatch(/javascript/);
    expect(init.text).toContain("url: '/api/openapi.json'");
    expect((await request(t.app).get('/api/docs/swagger-ui-bundle.js')).text).toContain('SwaggerUIBundle');
  });

  it('is the same page with a trailing slash, serves none of the package’s other files, and keeps the API’s CSP elsewhere', async () => {
    expect((await request(t.app).get('/api/docs/')).headers['content-security-policy']).toMatch(/script-src 'self'/);
    for (const other of ['/api/docs/index.html', '/api/docs/swagger-initializer.js', '/api/docs/package.json']) {
      const res = await request(t.app).get(other);
      expect({ other, status: res.status, code: res.body.code }).toEqual({ other, status: 404, code: 'not_found' });
    }
    expect((await request(t.app).post('/api/docs')).status).toBe(405);
    expect((await request(t.app).get('/api/openapi.json')).headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
  });
});
