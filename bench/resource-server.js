// `npm run bench -- --resource-server` (also `npm run bench:resource-server`): what a service
// that receives Latchkey access tokens pays per request for each way of checking them. Writes
// the "resource_server" key of bench/results.json, keeping the others.
//
// One Latchkey (as `npm run bench` starts it) and the working set of bench/lib.js; then the
// same small Express app (bench/resource-app.js, `GET /data` answering the caller's user id),
// each variant a process of its own:
//   middleware     @latchkey/express: local JWKS verification, revocations from the stream
//   forward_auth   a call to Latchkey's /api/auth/verify per request, admitted on 2xx
//   introspection  a call to Latchkey's POST /api/token/introspect per request (RFC 7662)
//   unprotected    no check (the app's own cost, for reference)
// The service credential of the middleware and of the introspection variant is an owner's PAT
// refreshed to access tokens. Each variant gets one warm-up pass over the 10,000 access tokens
// (the middleware's stream is `ready` before the first), then rounds: every variant in turn,
// BENCH_DURATION s each, round robin over the same access tokens at BENCH_CONNECTIONS. Figures
// are medians over the rounds; the ratios middleware / forward_auth and middleware /
// introspection are taken within each round, then their median. Latchkey's database round
// trips per request come from its metrics exporter. The load generator, the app and Latchkey
// share the machine's cores: compare the ratios, not req/s across runs.
//
//   bench/lib.js's BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_USERS, BENCH_PATS,
//   BENCH_ACCESS_TOKENS, BENCH_DATABASE_URL.
'use strict';
const { randomBytes } = require('node:crypto');
const os = require('node:os');
const { Client } = require('pg');
const {
  ADMIN_URL,
  CONNECTIONS,
  DURATION,
  ROUNDS,
  aggregate,
  createPat,
  describeSet,
  eachHeader,
  latchkey,
  listener,
  makeWorkingSet,
  measure,
  median,
  readResults,
  scratchDatabase,
  secondsSince,
  stopAll,
  warmUp,
  writeResults,
} = require('./lib');

const VARIANTS = ['middleware', 'forward_auth', 'introspection', 'unprotected'];
const ISSUER = 'http://latchkey.bench'; // bench/lib.js's LATCHKEY_ISSUER

const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const getJson = async (url, headers = {}) => {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json().catch(() => undefined) };
};

/** Each variant admits a working-set token as its user and refuses a forged one, before anything is timed. */
async function check(apps, set) {
  const token = set.access[0];
  const forged = `${token.slice(0, -4)}AAAA`;
  for (const [variant, base] of Object.entries(apps)) {
    const ok = await getJson(`${base}/data`, { authorization: `Bearer ${token}` });
    const expected = variant === 'unprotected' ? null : Number(claims(token).user_id);
    if (ok.status !== 200 || ok.body.user_id !== expected)
      throw new Error(`${variant}: expected 200 for user ${expected}, got ${ok.status} ${JSON.stringify(ok.body)}`);
    if (variant === 'unprotected') continue;
    const refused = await getJson(`${base}/data`, { authorization: `Bearer ${forged}` });
    if (refused.status !== 401) throw new Error(`${variant}: a forged token got ${refused.status}`);
  }
}

async function main() {
  const secret = randomBytes(32).toString('base64url');
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const db = await scratchDatabase(admin, 'rs');
  try {
    const a = await latchkey(db.url, secret);
    const started = performance.now();
    const set = await makeWorkingSet(a.url);
    console.log(`working set: ${JSON.stringify(describeSet(set))} made through the API in ${secondsSince(started)} s`);
    const servicePat = await createPat(a.url, set.adminAuth, 'bench resource server');
    const env = { BENCH_LATCHKEY_URL: a.url, BENCH_LATCHKEY_ISSUER: ISSUER, BENCH_SERVICE_PAT: servicePat };
    const apps = {};
    for (const variant of VARIANTS) apps[variant] = await listener('bench/resource-app.js', [variant], env);
    await check(apps, set);

    const bearer = eachHeader(
      'authorization',
      set.access.map((t) => `Bearer ${t}`),
    );
    const scenarios = VARIANTS.map((name) => ({
      name,
      opts: { url: `${apps[name]}/data`, ...bearer },
      size: set.access.length,
    }));
    for (const s of scenarios) await warmUp(s);
    const before = (await getJson(`${apps.middleware}/_stats`)).body;

    const runs = Object.fromEntries(VARIANTS.map((name) => [name, []]));
    const ratios = { middleware_to_forward_auth: [], middleware_to_introspection: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const { name, opts } of scenarios) runs[name].push(await measure(a, opts));
      const rps = (name) => runs[name].at(-1).rps;
      ratios.middleware_to_forward_auth.push(rps('middleware') / rps('forward_auth'));
      ratios.middleware_to_introspection.push(rps('middleware') / rps('introspection'));
      console.log(`round ${round}/${ROUNDS}: ${VARIANTS.map((name) => `${name} ${rps(name)}`).join(', ')} req/s`);
    }
    const after = (await getJson(`${apps.middleware}/_stats`)).body;
    const judged = (via) => (after.via[via] ?? 0) - (before.via[via] ?? 0);
    const middlewareJudged = { stream: judged('stream'), introspection: judged('introspection') };
    if (after.status !== 'ready') throw new Error(`the middleware's stream was ${after.status} after the rounds`);

    const rows = VARIANTS.map((name) => {
      const { db_queries_per_request, ...row } = aggregate(name, runs[name]);
      return { ...row, latchkey_db_queries_per_request: db_queries_per_request };
    });
    const r2 = (x) => Math.round(x * 100) / 100;
    const out = {
      machine: { cpus: os.cpus().length, node: process.version, model: os.cpus()[0]?.model ?? 'unknown' },
      variants: rows,
      ratios: {
        middleware_to_forward_auth: r2(median(ratios.middleware_to_forward_auth)),
        middleware_to_introspection: r2(median(ratios.middleware_to_introspection)),
      },
      middleware_requests_judged_by: middlewareJudged,
      settings: {
        duration_s: DURATION,
        rounds: ROUNDS,
        statistic: 'median over rounds (ratios: median of the per-round ratios), after one warm-up pass',
        connections: CONNECTIONS,
        working_set: describeSet(set),
        order: 'round robin over the access tokens',
        app: 'Express 5, GET /data answering {"user_id"}, one process per variant',
        client_to_latchkey: 'node:http with a keep-alive agent (forward_auth, introspection)',
      },
    };
    for (const row of rows)
      console.log(
        `${row.name}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, errors ${row.errors}, ${row.latchkey_db_queries_per_request} Latchkey db queries/request`,
      );
    console.log(
      `middleware / forward_auth ${out.ratios.middleware_to_forward_auth}x, middleware / introspection ${out.ratios.middleware_to_introspection}x; the middleware judged ${middlewareJudged.stream} timed requests by its stream, ${middlewareJudged.introspection} by introspection`,
    );
    await writeResults({ ...readResults(), resource_server: out });
    console.log('wrote the "resource_server" key of bench/results.json');
  } finally {
    await stopAll();
    await db.drop();
    await admin.end();
  }
}

module.exports = { main };
