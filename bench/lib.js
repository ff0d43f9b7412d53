// What `npm run bench` (run.js) and its scale mode (scale.js) share: scratch databases,
// Latchkey processes started as `npm start` starts them, the working set of tokens made
// through the HTTP API, autocannon driven round robin over that set, RSS and medians.
//
//   BENCH_DURATION=5 (seconds per scenario and round)  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50
//   BENCH_USERS=1000 (members of the admin's org, one legacy token each)
//   BENCH_PATS=1000 (spread over the users)  BENCH_ACCESS_TOKENS=10000 (spread over the PATs)
//   BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres (an admin connection)
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const autocannon = require('autocannon');

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results.json');

function positiveInt(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer (got ${process.env[name]})`);
  return value;
}

const DURATION = positiveInt('BENCH_DURATION', 5);
const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const CONNECTIONS = positiveInt('BENCH_CONNECTIONS', 50);
const WORKING_SET = Object.freeze({
  users: positiveInt('BENCH_USERS', 1000),
  pats: positiveInt('BENCH_PATS', 1000),
  accessTokens: positiveInt('BENCH_ACCESS_TOKENS', 10_000),
});
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN = { email: 'bench@example.com', password: 'a long bench password' };
/** Requests in flight while the working set is made (the server has 2 shared cores to spare). */
const SETUP_CONCURRENCY = 16;

/** The node flags of `npm start`, so the benchmark runs what production runs. */
const START_FLAGS = require('../package.json')
  .scripts.start.split(' ')
  .filter((arg) => arg.startsWith('--'));

const SERVER_ENV = {
  HOST: '127.0.0.1',
  LATCHKEY_ISSUER: 'http://latchkey.bench',
  LATCHKEY_ADMIN_EMAIL: ADMIN.email,
  LATCHKEY_ADMIN_PASSWORD: ADMIN.password,
  // Logins and member creation only make the working set; no scenario measures bcrypt.
  LATCHKEY_BCRYPT_ROUNDS: '4',
  // The per-user PAT creation limit must not throttle the revocation loop (unknown to older builds).
  LATCHKEY_PAT_CREATE_PER_MINUTE: '1000',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Every process the benchmark started, so that any exit path can stop them. */
const children = new Set();

function spawnNode(args, env, stdout = 'inherit') {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM (Latchkey shuts down gracefully), SIGKILL if it has not exited within `graceMs`. */
async function stopProcess(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const stopAll = (signal = 'SIGTERM') =>
  Promise.all([...children].map((child) => (signal === 'SIGKILL' ? child.kill('SIGKILL') : stopProcess(child))));

/**
 * `node SCRIPT ...args PORT` on a free port, with `env`; resolves to its base URL once it
 * prints `listening` (fails if it exits first, or after `timeoutMs`).
 */
async function listener(script, args, env = {}, timeoutMs = 30_000) {
  const port = await freePort();
  const child = spawnNode([script, ...args, String(port)], env, 'pipe');
  let timer;
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk).includes('listening') && resolve());
    child.once('exit', (code) =>
      reject(new Error(`${script} ${args.join(' ')} exited with ${code}: ${out.slice(-500)}`)),
    );
    timer = setTimeout(
      () => reject(new Error(`${script} ${args.join(' ')} did not listen within ${timeoutMs} ms`)),
      timeoutMs,
    );
  }).finally(() => clearTimeout(timer));
  return `http://127.0.0.1:${port}`;
}

/** A floor server (bench/floors.js) of `kind`; resolves to its /whoami URL once it listens. */
const floor = async (kind) => `${await listener('bench/floors.js', [kind])}/whoami`;

/** Polls /readyz until 200; fails as soon as the process exits (e.g. out of memory). */
async function waitReady(url, child, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`Latchkey at ${url} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    if (
      (await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return;
    await sleep(20);
  }
  throw new Error(`${url} never became ready within ${timeoutMs} ms`);
}

/**
 * The production build with `npm start`'s node flags. `readyMs` is from spawn to the first
 * /readyz 200 (the state is loaded and listening by then).
 */
async function latchkey(dbUrl, secret, { timeoutMs = 30_000 } = {}) {
  const port = await freePort();
  // The Prometheus exporter, on a port of its own: `measure` reads the round trips there.
  const metricsPort = await freePort();
  const started = performance.now();
  const child = spawnNode([...START_FLAGS, 'dist/main.js'], {
    ...SERVER_ENV,
    PORT: String(port),
    LATCHKEY_METRICS_PORT: String(metricsPort),
    DATABASE_URL: dbUrl,
    LATCHKEY_SECRET_KEY: secret,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, timeoutMs);
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    pid: child.pid,
    readyMs: Math.round(performance.now() - started),
    stop: () => stopProcess(child),
  };
}

/** A new empty database on the admin connection's server; `drop()` removes it. */
async function scratchDatabase(admin, label) {
  const name = `latchkey_bench_${randomBytes(4).toString('hex')}${label ? `_${label}` : ''}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  return {
    name,
    url,
    drop: () => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined),
  };
}

async function json(url, init = {}) {
  const res = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** POSTs `body` and returns the response body, or throws unless the status is `expected`. */
async function post(url, body, { auth, expected = 200 } = {}) {
  const res = await json(url, {
    method: 'POST',
    headers: auth ? { Authorization: `Bearer ${auth}` } : {},
    body: JSON.stringify(body ?? {}),
  });
  if (res.status !== expected)
    throw new Error(
      `POST ${new URL(url).pathname}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body)}`,
    );
  return res.body;
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
/** For progress lines: "12.3". */
const secondsSince = (started) => ((performance.now() - started) / 1000).toFixed(1);

const login = async (url, email, password) => (await post(`${url}/api/auth/login`, { email, password })).access;
const createPat = async (url, auth, name) => (await post(`${url}/api/token/`, { name }, { auth, expected: 201 })).token;
const refresh = async (url, pat) => (await post(`${url}/api/token/refresh`, { refresh: pat })).access;

/** Adds `count` members named `<prefix><i>` to the org and logs each in; resolves to their login access tokens. */
async function addMembers(url, adminAuth, orgId, prefix, count) {
  return mapLimit(range(count), SETUP_CONCURRENCY, async (i) => {
    const email = `${prefix}${i}@bench.example.com`;
    await post(
      `${url}/api/organizations/${orgId}/memberships`,
      { email, role: 'annotator', password: ADMIN.password },
      { auth: adminAuth, expected: 201 },
    );
    return login(url, email, ADMIN.password);
  });
}

/**
 * The tokens the scenarios cycle through, made through the HTTP API as clients make them.
 * The admin sets the org's access TTL to an hour and turns legacy tokens on; `users` members
 * of the admin's org are added and logged in; `pats` PATs are spread over them, `accessTokens`
 * access tokens over the PATs, and each user resets a legacy token. `cold` more members get
 * one PAT and one access token each, which no scenario uses (for a cold token's first request).
 */
async function makeWorkingSet(url, { users, pats, accessTokens } = WORKING_SET, cold = 0) {
  const firstLogin = await login(url, ADMIN.email, ADMIN.password);
  await post(
    `${url}/api/jwt/settings`,
    { access_token_ttl_seconds: 3600, legacy_api_tokens_enabled: true },
    { auth: firstLogin },
  );
  const adminAuth = await login(url, ADMIN.email, ADMIN.password); // under the new TTL
  const orgId = (await json(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${adminAuth}` } }))
    .body.active_organization;

  const userAuths = await addMembers(url, adminAuth, orgId, 'member', users);
  const patTokens = await mapLimit(range(pats), SETUP_CONCURRENCY, (i) =>
    createPat(url, userAuths[i % users], `bench ${i}`),
  );
  const access = await mapLimit(range(accessTokens), SETUP_CONCURRENCY, (i) => refresh(url, patTokens[i % pats]));
  const legacy = await mapLimit(
    userAuths,
    SETUP_CONCURRENCY,
    async (auth) => (await post(`${url}/api/current-user/reset-token/`, {}, { auth, expected: 201 })).token,
  );
  const coldAuths = await addMembers(url, adminAuth, orgId, 'cold', cold);
  const coldAccess = await mapLimit(coldAuths, SETUP_CONCURRENCY, async (auth, i) =>
    refresh(url, await createPat(url, auth, `cold ${i}`)),
  );
  const adminAccess = await refresh(url, await createPat(url, adminAuth, 'bench admin'));
  return { orgId, adminAuth, adminAccess, userAuths, pats: patTokens, access, legacy, coldAccess };
}

const describeSet = (set) => ({
  users: set.userAuths.length,
  pats: set.pats.length,
  access_tokens: set.access.length,
  legacy_tokens: set.legacy.length,
});

/**
 * autocannon options that give each request the next of `values` (one counter over every
 * connection, so the whole set is cycled, not one token per connection).
 */
function roundRobin(values, apply) {
  let next = 0;
  return { requests: [{ setupRequest: (req) => apply(req, values[next++ % values.length]) }] };
}
const eachHeader = (name, values) => roundRobin(values, (req, value) => ((req.headers[name] = value), req));
const eachBody = (values) => roundRobin(values, (req, value) => ((req.body = value), req));

/**
 * The scenarios over a working set: `scenario(name, base, set)` gives autocannon's options
 * against the Latchkey at `base` and how many distinct tokens the scenario cycles through.
 */
const SCENARIO_SHAPES = {
  refresh: (base, set) => ({
    url: `${base}/api/token/refresh`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...eachBody(set.pats.map((pat) => JSON.stringify({ refresh: pat }))),
  }),
  bearer_whoami: (base, set) => ({
    url: `${base}/api/current-user/whoami`,
    ...eachHeader(
      'authorization',
      set.access.map((t) => `Bearer ${t}`),
    ),
  }),
  legacy_token: (base, set) => ({ url: `${base}/api/current-user/whoami`, ...eachHeader('x-api-key', set.legacy) }),
  // A resource server (one credential) asking about its users' tokens.
  introspect: (base, set) => ({
    url: `${base}/api/token/introspect`,
    method: 'POST',
    headers: { authorization: `Bearer ${set.adminAccess}`, 'content-type': 'application/json' },
    ...eachBody(set.access.map((token) => JSON.stringify({ token }))),
  }),
  forward_auth: (base, set) => ({
    url: `${base}/api/auth/verify`,
    ...eachHeader(
      'authorization',
      set.access.map((t) => `Bearer ${t}`),
    ),
  }),
};
const SET_SIZES = { refresh: (set) => set.pats.length, legacy_token: (set) => set.legacy.length };

function scenario(name, base, set) {
  return { name, opts: SCENARIO_SHAPES[name](base, set), size: (SET_SIZES[name] ?? ((s) => s.access.length))(set) };
}

function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, pipelining: 1, ...opts }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

const summary = (result) => ({
  rps: Math.round(result.requests.average),
  p50_ms: result.latency.p50,
  p99_ms: result.latency.p99,
  errors: result.errors + result.timeouts + result.non2xx,
  requests: result.requests.total,
});

const roundTrips = async (metricsUrl) =>
  Number(/^latchkey_db_round_trips_total (\d+)$/m.exec(await (await fetch(metricsUrl)).text())[1]);

/** One timed autocannon run against `server` (a `latchkey()`), with the database round trips it caused. */
async function measure(server, opts) {
  const before = await roundTrips(server.metricsUrl);
  const result = summary(await cannon(opts));
  return { ...result, trips: (await roundTrips(server.metricsUrl)) - before };
}

/** One pass over a scenario's whole set before timing it, so rounds measure the steady state. */
async function warmUp({ name, opts, size }) {
  const result = summary(await cannon({ ...opts, amount: Math.max(size, CONNECTIONS) }));
  if (result.errors) throw new Error(`warm-up of ${name} had ${result.errors} errors`);
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** A scenario's row: medians over its rounds, errors and DB round trips summed. */
function aggregate(name, runs) {
  const sum = (key) => runs.reduce((total, r) => total + r[key], 0);
  return {
    name,
    rps: Math.round(median(runs.map((r) => r.rps))),
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    errors: sum('errors'),
    db_queries_per_request: Math.round((sum('trips') / sum('requests')) * 1000) / 1000,
  };
}

/** VmRSS of `pid` in MB, or undefined once it has exited. */
function rssMb(pid) {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
  } catch {
    return undefined;
  }
}

/** Max RSS (MB) of the given processes, sampled every 200 ms. */
function rssSampler(pids) {
  let max = 0;
  const timer = setInterval(() => {
    for (const pid of pids()) max = Math.max(max, rssMb(pid) ?? 0);
  }, 200);
  return { stop: () => (clearInterval(timer), max) };
}

const readResults = () => {
  try {
    return JSON.parse(readFileSync(RESULTS, 'utf8'));
  } catch {
    return {};
  }
};
/** Writes bench/results.json as Prettier would, so that `npm run lint` stays green after a run. */
const writeResults = async (results) => {
  const prettier = await import('prettier');
  const options = { ...(await prettier.resolveConfig(RESULTS)), filepath: RESULTS };
  writeFileSync(RESULTS, await prettier.format(JSON.stringify(results), options));
};

module.exports = {
  ADMIN,
  ADMIN_URL,
  CONNECTIONS,
  DURATION,
  ROUNDS,
  START_FLAGS,
  WORKING_SET,
  aggregate,
  cannon,
  describeSet,
  eachHeader,
  floor,
  json,
  latchkey,
  listener,
  makeWorkingSet,
  measure,
  median,
  positiveInt,
  quantile,
  readResults,
  refresh,
  createPat,
  rssMb,
  rssSampler,
  scenario,
  scratchDatabase,
  secondsSince,
  stopAll,
  summary,
  warmUp,
  writeResults,
};
