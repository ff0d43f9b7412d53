// The small resource server of `npm run bench -- --resource-server` (bench/resource-server.js):
// one Express 5 app whose `GET /data` answers `{"user_id": …}` for the caller, protected in
// one of four ways. Run as `node bench/resource-app.js VARIANT PORT`, with
//   BENCH_LATCHKEY_URL     where Latchkey listens
//   BENCH_LATCHKEY_ISSUER  the `iss` of its tokens (LATCHKEY_ISSUER; the middleware's `issuer`)
//   BENCH_SERVICE_PAT      the service's own PAT (an owner's), refreshed to access tokens
// VARIANT:
//   unprotected   no check at all (the app's own cost, for reference)
//   middleware    @latchkey/express from this worktree (packages/express/dist): local JWKS
//                 verification and the revocation stream; prints `listening` only once the
//                 stream is `ready`, so nothing is measured before the middleware is warm
//   forward_auth  every request asks Latchkey's `GET /api/auth/verify` with the caller's
//                 Authorization header and is admitted on 2xx (X-Auth-User-Id)
//   introspection every request asks Latchkey's `POST /api/token/introspect` (RFC 7662, form
//                 body, the service's access token as credential) and is admitted on active
// The calls to Latchkey go through node:http with a keep-alive agent (the cheapest client
// Node ships), so (b) and (c) are not handicapped by their HTTP client.
// `GET /_stats` (unprotected) tells how the middleware judged requests and its stream status.
'use strict';
const http = require('node:http');
const express = require('express');

const [variant, port] = process.argv.slice(2);
const LATCHKEY = new URL(process.env.BENCH_LATCHKEY_URL);
const ISSUER = process.env.BENCH_LATCHKEY_ISSUER;
const SERVICE_PAT = process.env.BENCH_SERVICE_PAT;

const agent = new http.Agent({ keepAlive: true });

/** One request to Latchkey; resolves to `{ status, headers, body }`. */
function call(method, pathname, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: LATCHKEY.hostname, port: LATCHKEY.port, method, path: pathname, headers },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The service's access token: refreshed from its PAT, a minute ahead of `exp`, single-flight. */
let cached;
let pending;
async function serviceToken() {
  if (cached && cached.exp - 60_000 > Date.now()) return cached.token;
  pending ??= (async () => {
    const res = await call(
      'POST',
      '/api/token/refresh',
      { 'content-type': 'application/json' },
      JSON.stringify({ refresh: SERVICE_PAT }),
    );
    if (res.status !== 200) throw new Error(`refresh of the service PAT: ${res.status} ${res.body}`);
    const token = JSON.parse(res.body).access;
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    cached = { token, exp: exp * 1000 };
    return token;
  })().finally(() => (pending = undefined));
  return pending;
}

const refuse = (res, status) => res.status(status).json({ error: 'invalid_token' });

/** (b) forward-auth: Latchkey judges the caller's own Authorization header. */
async function forwardAuth(req, res, next) {
  const authorization = req.get('authorization');
  if (!authorization) return refuse(res, 401);
  try {
    const answer = await call('GET', '/api/auth/verify', { authorization });
    if (answer.status < 200 || answer.status > 299) return refuse(res, answer.status);
    req.userId = Number(answer.headers['x-auth-user-id']);
  } catch (err) {
    return next(err);
  }
  next();
}

/** (c) introspection: the service asks about the caller's token with its own credential. */
async function introspection(req, res, next) {
  const match = /^Bearer +(\S+)$/i.exec(req.get('authorization') ?? '');
  if (!match) return refuse(res, 401);
  try {
    const answer = await call(
      'POST',
      '/api/token/introspect',
      { authorization: `Bearer ${await serviceToken()}`, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ token: match[1], token_type_hint: 'access_token' }).toString(),
    );
    if (answer.status !== 200) return next(new Error(`introspection answered ${answer.status}`));
    const body = JSON.parse(answer.body);
    if (body.active !== true) return refuse(res, 401);
    req.userId = Number(body.user_id);
  } catch (err) {
    return next(err);
  }
  next();
}

/**
 * (a) the middleware. Its tokens name ISSUER, which is not where Latchkey listens here: its
 * fetch sends the JWKS, stream and introspection requests to BENCH_LATCHKEY_URL instead.
 */
function middleware(stats) {
  const { latchkey } = require('../packages/express/dist');
  const rewrite = (input) => String(input instanceof Request ? input.url : input).replace(ISSUER, LATCHKEY.origin);
  const auth = latchkey({
    issuer: ISSUER,
    fetch: (input, init) => fetch(rewrite(input), init),
    staleAfterMs: 5_000,
    introspection: { token: serviceToken },
    onStatus: (status) => {
      stats.status = status;
      if (status === 'ready') stats.onReady();
    },
  });
  return [
    auth,
    (req, _res, next) => {
      stats.via[req.latchkey.via] = (stats.via[req.latchkey.via] ?? 0) + 1;
      req.userId = req.latchkey.userId;
      next();
    },
  ];
}

const stats = { variant, status: undefined, via: {}, onReady: () => undefined };
const guards = {
  unprotected: [(req, _res, next) => ((req.userId = null), next())],
  middleware: undefined,
  forward_auth: [forwardAuth],
  introspection: [introspection],
};
if (!Object.hasOwn(guards, variant)) throw new Error(`unknown variant ${variant}`);
const guard = guards[variant] ?? middleware(stats);

const app = express();
app.get('/_stats', (_req, res) => res.json({ status: stats.status, via: stats.via }));
app.get('/data', ...guard, (req, res) => res.json({ user_id: req.userId }));

const server = http.createServer(app);
server.keepAliveTimeout = 65_000;
const ready = variant === 'middleware' ? new Promise((resolve) => (stats.onReady = resolve)) : Promise.resolve();
void ready.then(() =>
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${stats.status ?? ''}\n`)),
);
