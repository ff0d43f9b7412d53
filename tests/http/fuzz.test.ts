/**
 * Property-based fuzzing of every route (fast-check): malformed path segments, bodies, content
 * types, encodings and credentials, with and without a valid caller. The contract's promise:
 * a 2xx, or a 4xx in the error shape (`id`, `status_code`, `code`, `detail`, or RFC 6749's
 * `error`, `error_description` at the standard OAuth endpoints; a challenge on every 401);
 * never a 5xx, never an error-level log line, and the server ready afterwards.
 *
 * Bounded by a fixed number of runs per property, and by a time limit that only a crowded
 * machine reaches (then fewer runs pass for the whole). On failure fast-check prints the seed and
 * path to replay (`FUZZ_SEED=<seed>` replays the whole run).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ROLES } from '../../src/auth/roles';
import { SETTINGS_DEFAULTS, settingsColumns } from '../../src/orgs/settings';
import { startTestApp, type TestApp } from '../support/app';
import { createMember, createPat, PASSWORD, type Member } from '../support/factories';
import { servedRoutes } from '../support/routes';

/**
 * Every route: method (ALL for any), path template and the body fields it reads (bodies are
 * built mostly from these, so they get past the parser into validation). A test below checks
 * the list against the app's routers.
 */
const ROUTES: readonly (readonly [method: string, path: string, fields?: readonly string[]])[] = [
  ['ALL', '/api/auth/verify'],
  ['POST', '/api/auth/login', ['email', 'password']],
  ['POST', '/api/auth/logout'],
  ['GET', '/api/setup'],
  ['POST', '/api/setup', ['setup_code', 'email', 'password', 'first_name', 'last_name', 'organization']],
  ['GET', '/api/current-user/whoami'],
  [
    'PATCH',
    '/api/current-user',
    ['active_organization', 'username', 'first_name', 'last_name', 'phone', 'allow_newsletters'],
  ],
  ['POST', '/api/token/refresh', ['refresh']],
  ['POST', '/api/token/blacklist', ['refresh']],
  ['POST', '/api/token/introspect', ['token', 'token_type_hint']],
  ['POST', '/api/token/rotate', ['refresh']],
  ['GET', '/api/token'],
  ['POST', '/api/token', ['name', 'expires_in_days', 'role']],
  ['DELETE', '/api/token/:id'],
  ['POST', '/api/token/:id/rotate'],
  ['GET', '/api/token/events'],
  ['POST', '/oauth/token', ['grant_type', 'refresh_token', 'scope', 'client_id', 'client_secret']],
  ['POST', '/oauth/revoke', ['token', 'token_type_hint', 'client_id']],
  ['GET', '/api/current-user/token'],
  ['POST', '/api/current-user/reset-token'],
  ['GET', '/api/jwt/settings'],
  [
    'POST',
    '/api/jwt/settings',
    ['api_tokens_enabled', 'legacy_api_tokens_enabled', 'api_token_ttl_days', 'access_token_ttl_seconds'],
  ],
  ['GET', '/api/organizations'],
  ['POST', '/api/organizations', ['title']],
  ['GET', '/api/organizations/:id/memberships'],
  ['POST', '/api/organizations/:id/memberships', ['email', 'role', 'password', 'first_name', 'last_name']],
  ['POST', '/api/organizations/:id/memberships/accept'],
  ['PATCH', '/api/organizations/:id/memberships/:userId', ['role']],
  ['DELETE', '/api/organizations/:id/memberships/:userId'],
  ['GET', '/api/organizations/:id/tokens'],
  ['DELETE', '/api/organizations/:id/tokens/:type/:tokenId'],
  ['GET', '/api/organizations/:id/audit-events'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/.well-known/oauth-authorization-server'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/api/openapi.json'],
  ['GET', '/api/docs'],
];
const FIELDS = [...new Set(ROUTES.flatMap(([, , fields]) => fields ?? []))];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const RUNS = 500;
const TIME_LIMIT_MS = 10_000;

// ---- Generators -------------------------------------------------------------------------------

const PROTOTYPE_KEYS = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__proto__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  'prototype',
];

const ascii = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));
/** What Node's HTTP client lets through in a header value: visible ASCII, space, tab and latin-1. */
const headerText = fc.oneof(
  fc.string({ unit: ascii(0x20, 0x7e), maxLength: 120 }),
  fc.string({ unit: fc.oneof(ascii(0x20, 0x7e), ascii(0xa0, 0xff), fc.constant('\t')), maxLength: 40 }),
);
const hex = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength, maxLength });
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

const weirdScalar = fc.constantFrom(
  '1e309',
  '-1e309',
  '123456789012345678901234567890',
  '-0',
  '0.5',
  '1e-400',
  '-1',
  '0',
  '2147483648',
  'null',
  'true',
  'false',
  '""',
  '" "',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udfff x"',
  '"\\uffff"',
  '"1"',
  '"1e3"',
  '" 5 "',
  '"true"',
  '"maybe"',
);

/** JSON text, generated as text so `__proto__` and friends are real keys. */
const objectText = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const key = fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 12 }));

/** A JWT-shaped string: garbage headers and claims around a signature that is never right. */
const jwtish = fc
  .tuple(
    fc.record(
      {
        alg: fc.constantFrom('none', 'ES256', 'HS256', 'RS256', 'EdDSA', 'PS256', ''),
        typ: fc.constantFrom('JWT', 'at+jwt', 'jwt', 'x'),
        kid: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('constructor')),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        token_type: fc.constantFrom('refresh', 'access', 'x'),
        user_id: fc.oneof(fc.constant('1'), fc.integer().map(String), fc.constant('__proto__')),
        org_id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
        exp: fc.oneof(fc.integer(), fc.constant(1e300), fc.constant(-1)),
        iat: fc.integer(),
        jti: fc.oneof(hex(32, 32), fc.constant('toString')),
        pat: hex(0, 32),
        sid: fc.constantFrom('valueOf', '0'.repeat(32)),
        role: fc.constantFrom(...ROLES, 'emperor'),
        iss: fc.string({ maxLength: 10 }),
        aud: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: [] },
    ),
    fc.string({ unit: fc.constantFrom(...'ABCxyz019-_'.split('')), maxLength: 90 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([header, claims, signature, twoPart, hostileRole]) => {
    // As the fuzzer sent: a claim holding an object whose toString is a number.
    const payload = objectText([
      ...Object.entries(claims).map(([k, v]) => [k, JSON.stringify(v)] as const),
      ...(hostileRole ? [['role', '{"toString":1}'] as const] : []),
    ]);
    const parts = `${b64(JSON.stringify(header))}.${b64(payload)}`;
    return twoPart ? parts : `${parts}.${signature}`;
  });

const scalarText = fc.oneof(
  { weight: 3, arbitrary: weirdScalar },
  { weight: 3, arbitrary: fc.constantFrom(...ROLES, 'pat', 'legacy', 'owner ').map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: jwtish.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.emailAddress().map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((n) => JSON.stringify('a'.repeat(n))) },
);

/** Values whose own members break a careless `String(value)` or `obj[key]`. */
const hostileText = fc.constantFrom(
  '{"toString":1}',
  '{"toString":{}}',
  '[{"toString":1}]',
  '{"valueOf":1,"toString":1}',
  '{"__proto__":{"toString":1}}',
  '{"constructor":{"prototype":1}}',
  '[]',
  '{}',
);

const { value: jsonValueText } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText,
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(objectText),
  ),
}));

const fieldValueText = fc.oneof(
  { weight: 4, arbitrary: scalarText },
  { weight: 3, arbitrary: hostileText },
  { weight: 1, arbitrary: jsonValueText },
);

/** Some of the route's fields (hostile values likely), and a few other keys (prototype names likely). */
const jsonObjectText = (fields: readonly string[]) =>
  fc
    .tuple(
      fc.record(Object.fromEntries(fields.map((field) => [field, fieldValueText])), { requiredKeys: [] }),
      fc.array(fc.tuple(key, jsonValueText), { maxLength: 3 }),
    )
    .map(([mine, extra]) => objectText([...(Object.entries(mine) as [string, string][]), ...extra]));

const formValue = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('%', '%ff', '%E0%A4%A', '%00', 'a+b', '', ...ROLES),
  fc.string({ unit: ascii(0x21, 0x7e), maxLength: 20 }),
);
const formText = (fields: readonly string[]) =>
  fc
    .tuple(
      fc.record(Object.fromEntries(fields.map((field) => [field, formValue])), { requiredKeys: [] }),
      fc.array(
        fc.tuple(
          fc.oneof(
            key.map(encodeURIComponent),
            fc.constantFrom('a[b]', 'refresh[]', 'role[toString]', '%', '__proto__[x]', ''),
          ),
          formValue,
        ),
        { maxLength: 4 },
      ),
    )
    .map(([mine, extra]) =>
      [...(Object.entries(mine) as [string, string][]), ...extra].map(([k, v]) => `${k}=${v}`).join('&'),
    );

type Body = { readonly bytes: Buffer; readonly type?: string; readonly encoding?: string };

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=klingon',
  'application/merge-patch+json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  'a/b/c',
  ';;;',
  '*/*',
];

/** Mostly well-formed JSON and forms with hostile contents (they reach validation); the rest broken on purpose. */
const bodyFor = (fields: readonly string[]): fc.Arbitrary<Body | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 6,
      arbitrary: jsonObjectText(fields).map((text) => ({ bytes: Buffer.from(text), type: 'application/json' })),
    },
    {
      weight: 3,
      arbitrary: formText(fields).map((text) => ({
        bytes: Buffer.from(text),
        type: 'application/x-www-form-urlencoded',
      })),
    },
    { weight: 1, arbitrary: jsonValueText.map((text) => ({ bytes: Buffer.from(text), type: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.tuple(jsonObjectText(fields), fc.nat()).map(([text, cut]) => ({
        bytes: Buffer.from(text.slice(0, cut % (text.length + 1))),
        type: 'application/json',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(jsonObjectText(fields), formText(fields)), fc.constantFrom(...CONTENT_TYPES))
        .map(([text, type]) => ({ bytes: Buffer.from(text), type })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: 300 }), fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }))
        .map(([bytes, type]) => ({ bytes: Buffer.from(bytes), type })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          jsonObjectText(fields),
          fc.constantFrom('gzip', 'identity', 'deflate', 'br', 'compress', 'gzip, gzip'),
          fc.boolean(),
        )
        .map(([text, encoding, compress]) => ({
          bytes: compress ? gzipSync(text) : Buffer.from(text),
          type: 'application/json',
          encoding,
        })),
    },
    // Over the 16 KiB limit.
    {
      weight: 1,
      arbitrary: fc.constantFrom('application/json', 'application/x-www-form-urlencoded').map((type) => ({
        bytes: Buffer.from(
          type.endsWith('json') ? JSON.stringify({ name: 'a'.repeat(17_000) }) : `name=${'a'.repeat(17_000)}`,
        ),
        type,
      })),
    },
  );

/** A path segment: real ids, numbers, malformed escapes, prototype names, unicode, very long. */
const segment = (real: readonly string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...real) },
    fc.nat().map(String),
    fc.constantFrom(
      '%',
      '%ff',
      '%E0%A4%A',
      '%zz',
      '%00',
      '%2F',
      '%ED%A0%80',
      '%C0%AF',
      '..',
      '.',
      '-1',
      '1e3',
      '0x10',
      '999999999999',
      '2147483648',
      '01',
      '%201',
      'pat',
      'legacy',
      ...PROTOTYPE_KEYS,
    ),
    fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
    fc.string({ unit: fc.constantFrom(..."abc019-._~!$&'()*+,;=:@%".split('')), maxLength: 20 }),
    fc.integer({ min: 100, max: 4000 }).map((n) => 'x'.repeat(n)),
  );

const query = fc.option(
  fc
    .array(
      fc.tuple(
        fc.constantFrom('page', 'page_size', 'token', '__proto__', 'constructor', 'page[x]'),
        fc.oneof(fc.nat().map(String), fc.constantFrom('', '-1', '0', '1e3', '%', '%ff', '999999999', 'abc')),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
  { nil: '' },
);

interface Credentials {
  access: string;
  session: string;
  csrf: string;
}

type Headers = Record<string, string>;

/** Credentials that are not a valid caller: none, garbage, other schemes, forged or tampered JWTs. */
const anonymous = (valid: () => Credentials): fc.Arbitrary<Headers> =>
  fc.oneof(
    fc.constant({}),
    fc
      .tuple(
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Token', 'Basic', 'Digest', 'JWT', ''),
        fc.oneof(headerText, jwtish),
      )
      .map(([scheme, value]) => ({ Authorization: `${scheme} ${value}` })),
    fc.oneof(headerText, jwtish).map((value) => ({ Authorization: value })),
    fc.oneof(headerText, jwtish).map((value) => ({ 'X-Api-Key': value })),
    fc
      .tuple(headerText, headerText)
      .map(([session, csrf]) => ({ Cookie: `latchkey_session=${session}; csrftoken=${csrf}`, 'X-CSRFToken': csrf })),
    headerText.map((cookie) => ({ Cookie: cookie })),
    // A real token's header and signature around someone else's claims.
    jwtish.map((forged) => {
      const [header, , signature] = valid().access.split('.');
      return { Authorization: `Bearer ${header}.${forged.split('.')[1]}.${signature}` };
    }),
  );

/** A valid caller, by each way a request may carry one, sometimes with a wrong or missing CSRF header. */
const authenticated = (valid: () => Credentials): fc.Arbitrary<Headers> =>
  fc.oneof(
    fc.constantFrom('Bearer', 'bearer', 'BEARER').map((scheme) => ({ Authorization: `${scheme} ${valid().access}` })),
    fc.constant('X-Api-Key').map((name) => ({ [name]: valid().access })),
    fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headerText }).map((wrong) => {
      const { session, csrf } = valid();
      return {
        Cookie: `latchkey_session=${session}; csrftoken=${csrf}`,
        ...(wrong === undefined ? { 'X-CSRFToken': csrf } : { 'X-CSRFToken': wrong }),
      };
    }),
  );

/** Headers anyone may add: request ids, proxies' X-Forwarded-For, Accept. */
const noise = fc.record(
  {
    'X-Request-Id': headerText,
    'X-Forwarded-For': fc.oneof(headerText, fc.ipV4(), fc.ipV6()),
    Accept: headerText,
    'X-CSRFToken': headerText,
  },
  { requiredKeys: [] },
);

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  readonly body?: Body;
}

/** A request to one of ROUTES (sometimes with another method), every part of it generated. */
const requests = (credentials: fc.Arbitrary<Headers>, real: Record<string, readonly string[]>): fc.Arbitrary<Sent> =>
  fc.oneof(
    ...ROUTES.map(([declared, template, fields]) => ({
      // Routes that read a body get more of the runs: that is where validation lives.
      weight: fields ? 2 : 1,
      arbitrary: fc
        .record({
          method: fc
            .oneof(
              { weight: 6, arbitrary: fc.constant(declared) },
              { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
            )
            .chain((m) => (m === 'ALL' ? fc.constantFrom(...METHODS) : fc.constant(m))),
          segments: fc.record({
            id: segment(real.id!),
            userId: segment(real.userId!),
            type: segment(['pat', 'legacy']),
            tokenId: segment(real.tokenId!),
          }),
          slash: fc.boolean(),
          query,
          credentials,
          noise,
          body: bodyFor(fields ?? FIELDS),
        })
        .map(({ method, segments, slash, query, credentials, noise, body }) => {
          const path =
            template.replace(/:(\w+)/g, (_, name: keyof typeof segments) => segments[name]) +
            (slash ? '/' : '') +
            query;
          const headers: Headers = { ...noise, ...credentials };
          if (body?.type !== undefined) headers['Content-Type'] = body.type;
          if (body?.encoding !== undefined) headers['Content-Encoding'] = body.encoding;
          return { method, path, headers, body };
        }),
    })),
  );

// ---- The client and the contract check ---------------------------------------------------------

interface Received {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

let server: http.Server;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** A raw request (supertest would add or fix headers): exactly the bytes generated. */
function send(sent: Sent): Promise<Received> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const headers = sent.body ? { ...sent.headers, 'Content-Length': String(sent.body.bytes.length) } : sent.headers;
    const req = http.request(
      { host: '127.0.0.1', port, method: sent.method, path: sent.path, headers, agent },
      (res) => {
        if (res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/event-stream')) {
          // The revocation stream does not end by itself: its headers are the whole answer here.
          res.destroy();
          resolve({ status: res.statusCode, headers: res.headers, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sent.body?.bytes);
  });
}

/** The standard OAuth endpoints, whose errors are RFC 6749 §5.2's `{error, error_description}`. */
const OAUTH_PATH = /^\/oauth\/(token|revoke)\/?(\?|$)/;
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
]);

/** What is wrong with an error `body` of an OAuth endpoint, or undefined. */
function oauthViolation(res: Received, body: Record<string, unknown>): string | undefined {
  if (Object.keys(body).sort().join() !== 'error,error_description') return 'not {error, error_description}';
  if (typeof body.error !== 'string' || !OAUTH_ERRORS.has(body.error)) return 'an error code RFC 6749 does not name';
  if (typeof body.error_description !== 'string') return 'no error_description';
  if (res.headers['cache-control'] !== 'no-store') return 'an OAuth error that may be cached';
  return undefined;
}

/** What is wrong with `res` under the contract, or undefined. */
function violation(sent: Sent, res: Received): string | undefined {
  if (res.status >= 500) return 'a 5xx';
  if (res.status < 200 || (res.status >= 300 && res.status < 400)) return 'neither 2xx nor 4xx';
  if (res.status < 300) return undefined;
  if (res.status === 401 && !res.headers['www-authenticate']) return 'a 401 without WWW-Authenticate';
  if (sent.method === 'HEAD') return undefined;
  if (OAUTH_PATH.test(sent.path)) {
    try {
      return oauthViolation(res, JSON.parse(res.text));
    } catch {
      return 'an error body that is not JSON';
    }
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.text);
  } catch {
    return 'an error body that is not JSON';
  }
  if (typeof body.id !== 'string' || body.id !== res.headers['x-request-id']) return 'no request id in the body';
  if (body.status_code !== res.status) return 'status_code is not the status';
  if (typeof body.code !== 'string' || typeof body.detail !== 'string') return 'no code or detail';
  if (body.validation_errors !== undefined) {
    const fields = body.validation_errors as Record<string, unknown>;
    if (res.status !== 400 || typeof fields !== 'object' || fields === null) return 'validation_errors off a 400';
    if (
      !Object.values(fields).every(
        (messages) => Array.isArray(messages) && messages.every((m) => typeof m === 'string'),
      )
    )
      return 'validation_errors not field → messages';
  }
  return undefined;
}

// ---- The tests ----------------------------------------------------------------------------------

let t: TestApp;
let owner: Member;
let credentials: Credentials;
let real: Record<string, readonly string[]>;

/** Logs in as `owner` over HTTP; a fuzzed login spree may have hit the per-IP limit, so wait it out on the frozen clock. */
async function login(): Promise<Credentials> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await send({
      method: 'POST',
      path: '/api/auth/login',
      headers: { 'Content-Type': 'application/json' },
      body: { bytes: Buffer.from(JSON.stringify({ email: owner.email, password: PASSWORD })) },
    });
    if (res.status === 429) {
      t.clock.advance(16 * 60);
      continue;
    }
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const cookie = (name: string) =>
      cookies
        .find((c) => c.startsWith(`${name}=`))!
        .split(';')[0]!
        .slice(name.length + 1);
    return { access: JSON.parse(res.text).access, session: cookie('latchkey_session'), csrf: cookie('csrftoken') };
  }
  throw new Error('login still throttled');
}

/** The writes that may log the caller out, demote or remove it, switch PATs off or change its active organization. */
const DISTURBS_CALLER =
  /^\/api\/(auth\/logout|current-user\/?(\?|$)|jwt\/settings|organizations\/[^/]+\/memberships\/)/;

/**
 * Puts back what such a write changed, so later runs still get past authentication and
 * permission checks; then logs in again.
 */
async function restore(): Promise<void> {
  const { prisma } = t.database;
  const membership = { userId: owner.userId, organizationId: owner.organizationId };
  await prisma.membership.upsert({
    where: { userId_organizationId: membership },
    create: { ...membership, role: 'owner' },
    update: { role: 'owner' },
  });
  await prisma.organization.update({ where: { id: owner.organizationId }, data: settingsColumns(SETTINGS_DEFAULTS) });
  await prisma.user.update({ where: { id: owner.userId }, data: { activeOrganizationId: owner.organizationId } });
  await t.state.sync();
  credentials = await login();
}

beforeAll(async () => {
  // Behind a local proxy, so X-Forwarded-For is parsed.
  t = await startTestApp({ env: { LATCHKEY_TRUST_PROXY: 'loopback' } });
  server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  owner = await createMember(t, { role: 'owner' });
  const annotator = await createMember(t, { role: 'annotator', organizationId: owner.organizationId });
  const pat = await createPat(t, owner, { name: 'fuzzed' });
  real = {
    id: [String(owner.organizationId)],
    userId: [String(owner.userId), String(annotator.userId)],
    tokenId: [String(pat.id)],
  };
  credentials = await login();
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** Runs the property, then checks what the whole run left behind: no error-level log line, a ready server. */
async function fuzz(headers: fc.Arbitrary<Headers>) {
  t.logs.lines.length = 0;
  await fc.assert(
    fc.asyncProperty(requests(headers, real), async (sent) => {
      const res = await send(sent);
      const problem = violation(sent, res);
      if (problem) throw new Error(`${problem}: ${res.status} ${res.text.slice(0, 500)}`);
      if (res.status < 300 && !['GET', 'HEAD', 'OPTIONS'].includes(sent.method) && DISTURBS_CALLER.test(sent.path))
        await restore();
    }),
    { numRuns: RUNS, seed, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
  );
  const errors = t.logs.lines.map((line) => JSON.parse(line)).filter((line) => line.level >= 50);
  expect(errors).toEqual([]);
  expect((await send({ method: 'GET', path: '/readyz', headers: {} })).status).toBe(200);
}

describe('fuzzing every route', () => {
  it('lists every route the app serves', () => {
    expect(servedRoutes(t.app)).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
  });

  it('answers malformed requests without credentials with a 2xx or a 4xx in the contract shape', async () => {
    await fuzz(anonymous(() => credentials));
  });

  it('answers malformed requests from a valid caller (Bearer, X-Api-Key, session) the same way', async () => {
    await fuzz(authenticated(() => credentials));
  });
});
