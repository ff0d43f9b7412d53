// `npm run bench`: the production build against a real Postgres, driven by autocannon on
// loopback. Prints a table and writes bench/results.json and bench/results.svg.
//
//   BENCH_DURATION=5 (seconds per scenario and round)  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50
//   BENCH_REVOCATIONS=200   Figures are medians over the rounds.
//   BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres (an admin connection)
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN = { email: 'bench@example.com', password: 'a long bench password' };

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
function start(args, env, ready) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (ready(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out.slice(-500)}`)));
  });
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

/** The node flags of `npm start`, so the benchmark runs what production runs. */
const START_FLAGS = require('../package.json').scripts.start.split(' ').filter((arg) => arg.startsWith('--'));

async function latchkey(dbUrl, secret) {
  const port = await freePort();
  const child = await start([...START_FLAGS, 'dist/main.js'], {
    PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: dbUrl, LATCHKEY_SECRET_KEY: secret, LATCHKEY_ISSUER: 'http://latchkey.bench',
    LATCHKEY_ADMIN_EMAIL: ADMIN.email, LATCHKEY_ADMIN_PASSWORD: ADMIN.password, LATCHKEY_BCRYPT_ROUNDS: '10',
    LATCHKEY_METRICS: 'true', LOG_LEVEL: 'warn', NODE_ENV: 'production',
  }, null);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return { url, child };
}

async function json(url, init = {}) {
  const res = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const roundTrips = async (url) => Number(/latchkey_db_round_trips_total (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())[1]);

function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, pipelining: 1, ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const summary = (result) => ({
  rps: Math.round(result.requests.average),
  p50_ms: result.latency.p50,
  p99_ms: result.latency.p99,
  errors: result.errors + result.timeouts + result.non2xx,
  requests: result.requests.total,
});

/** Max RSS (MB) of the given processes, sampled every 200 ms. */
function rssSampler(pids) {
  let max = 0;
  const timer = setInterval(() => {
    for (const pid of pids()) {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
        max = Math.max(max, kb / 1024);
      } catch {
        // exited
      }
    }
  }, 200);
  return { stop: () => (clearInterval(timer), Math.round(max)) };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function svg(results) {
  const rows = [
    { name: 'node:http floor', rps: results.floors.node_http.rps, p99: results.floors.node_http.p99_ms, floor: true },
    { name: 'express floor', rps: results.floors.express.rps, p99: results.floors.express.p99_ms, floor: true },
    ...results.scenarios.map((s) => ({ name: s.name, rps: s.rps, p99: s.p99_ms, ratio: s.ratio_to_express })),
  ];
  const max = Math.max(...rows.map((r) => r.rps));
  const W = 760, bar = 26, gap = 12, left = 150, width = 480, top = 40;
  const H = top + rows.length * (bar + gap) + 40;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const items = rows.map((r, i) => {
    const y = top + i * (bar + gap);
    const w = Math.max(1, Math.round((r.rps / max) * width));
    const label = `${r.rps.toLocaleString('en-US')} req/s · p99 ${r.p99} ms${r.ratio === undefined ? '' : ` · ${r.ratio}× express`}`;
    return `<text x="${left - 8}" y="${y + 18}" text-anchor="end">${esc(r.name)}</text>` +
      `<rect x="${left}" y="${y}" width="${w}" height="${bar}" fill="${r.floor ? '#9aa5b1' : '#2f6fdf'}"/>` +
      `<text x="${left + w + 6}" y="${y + 18}">${esc(label)}</text>`;
  });
  const m = results.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 200}" height="${H}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="24" font-size="15" font-weight="bold">Latchkey, ${CONNECTIONS} connections, median of ${ROUNDS} × ${DURATION} s (${m.cpus} cores, Node ${m.node})</text>
${items.join('\n')}
<text x="${left}" y="${H - 14}">Revocation visible on 3 instances: p50 ${results.revocation_propagation_ms.p50} ms, p99 ${results.revocation_propagation_ms.p99} ms (${results.revocation_propagation_ms.samples} samples). Max RSS ${results.rss_max_mb} MB.</text>
</svg>
`;
}

async function main() {
  const secret = randomBytes(32).toString('base64url');
  const dbName = `latchkey_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
  const latchkeyPids = [];
  const rss = rssSampler(() => latchkeyPids);
  try {
    const a = await latchkey(dbUrl, secret);
    latchkeyPids.push(a.child.pid);
    const login = await json(`${a.url}/api/auth/login`, { method: 'POST', body: JSON.stringify(ADMIN) });
    const auth = { Authorization: `Bearer ${login.body.access}` };
    await json(`${a.url}/api/jwt/settings`, { method: 'POST', headers: auth, body: JSON.stringify({ access_token_ttl_seconds: 3600, legacy_api_tokens_enabled: true }) });
    const pat = (await json(`${a.url}/api/token/`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'bench' }) })).body.token;
    const access = (await json(`${a.url}/api/token/refresh`, { method: 'POST', body: JSON.stringify({ refresh: pat }) })).body.access;
    const legacy = (await json(`${a.url}/api/current-user/reset-token/`, { method: 'POST', headers: auth })).body.token;
    const bearer = { Authorization: `Bearer ${access}` };

    const floorUrls = {};
    for (const kind of ['express', 'node_http']) {
      const port = await freePort();
      await start(['bench/floors.js', kind, String(port)], {}, (out) => out.includes('listening'));
      floorUrls[kind] = `http://127.0.0.1:${port}/whoami`;
    }
    const scenarios = [
      ['refresh', { url: `${a.url}/api/token/refresh`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh: pat }) }],
      ['bearer_whoami', { url: `${a.url}/api/current-user/whoami`, headers: bearer }],
      ['legacy_token', { url: `${a.url}/api/current-user/whoami`, headers: { 'x-api-key': legacy } }],
      ['introspect', { url: `${a.url}/api/token/introspect`, method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ token: access }) }],
      ['forward_auth', { url: `${a.url}/api/auth/verify`, headers: bearer }],
    ];

    // Rounds: the floors and every scenario in turn, so that a slow minute of a shared machine
    // hits them alike; each ratio is taken against the same round's Express floor.
    const runs = { express: [], node_http: [], ...Object.fromEntries(scenarios.map(([name]) => [name, []])) };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['express', 'node_http']) runs[kind].push(summary(await cannon({ url: floorUrls[kind] })));
      for (const [name, opts] of scenarios) {
        const before = await roundTrips(a.url);
        const result = summary(await cannon(opts));
        runs[name].push({ ...result, trips: (await roundTrips(a.url)) - before, ratio: result.rps / runs.express.at(-1).rps });
      }
      console.log(`round ${round}/${ROUNDS}: express ${runs.express.at(-1).rps} req/s, ${scenarios.map(([name]) => `${name} ${runs[name].at(-1).rps}`).join(', ')}`);
    }
    const median = (values) => {
      const sorted = [...values].sort((x, y) => x - y);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const floors = Object.fromEntries(['express', 'node_http'].map((kind) => [kind, { rps: Math.round(median(runs[kind].map((r) => r.rps))), p99_ms: median(runs[kind].map((r) => r.p99_ms)) }]));
    for (const kind of ['express', 'node_http']) console.log(`floor ${kind}: ${floors[kind].rps} req/s, p99 ${floors[kind].p99_ms} ms`);
    const results = [];
    for (const [name] of scenarios) {
      const rs = runs[name];
      const sum = (key) => rs.reduce((total, r) => total + r[key], 0);
      const row = {
        name,
        rps: Math.round(median(rs.map((r) => r.rps))),
        p50_ms: median(rs.map((r) => r.p50_ms)),
        p99_ms: median(rs.map((r) => r.p99_ms)),
        errors: sum('errors'),
        ratio_to_express: Math.round(median(rs.map((r) => r.ratio)) * 100) / 100,
        db_queries_per_request: Math.round((sum('trips') / sum('requests')) * 1000) / 1000,
      };
      results.push(row);
      console.log(`${name}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, errors ${row.errors}, ${row.ratio_to_express}x express, ${row.db_queries_per_request} db queries/request`);
    }

    // Revocation propagation: revoke on A, time until B and C both refuse the derived token.
    const b = await latchkey(dbUrl, secret);
    const c = await latchkey(dbUrl, secret);
    latchkeyPids.push(b.child.pid, c.child.pid);
    const refused = async (url, token) => (await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status === 401;
    const delays = [];
    for (let i = 0; i < REVOCATIONS; i++) {
      const created = await json(`${a.url}/api/token/`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `r${i}` }) });
      const refreshed = await json(`${b.url}/api/token/refresh`, { method: 'POST', body: JSON.stringify({ refresh: created.body.token }) });
      if (refreshed.status !== 200) throw new Error(`setup failed: create ${created.status} ${JSON.stringify(created.body)}, refresh ${refreshed.status} ${JSON.stringify(refreshed.body)}`);
      const p = created.body.token;
      const t = refreshed.body.access;
      for (const url of [b.url, c.url]) {
        const res = await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${t}` } });
        if (res.status !== 200) throw new Error(`a fresh token was refused by ${url}: ${res.status} ${await res.text()}`);
      }
      const started = performance.now();
      const revoke = fetch(`${a.url}/api/token/blacklist/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh: p }) });
      await Promise.all([b.url, c.url].map(async (url) => {
        while (!(await refused(url, t))) if (performance.now() - started > 5_000) throw new Error('revocation never arrived');
      }));
      delays.push(performance.now() - started);
      if ((await revoke).status !== 204) throw new Error('revoke failed');
      // Revoked PATs do not count against the per-user limit, so the loop can go on.
    }
    delays.sort((x, y) => x - y);
    const round = (x) => Math.round(x * 10) / 10;
    const out = {
      machine: { cpus: os.cpus().length, node: process.version, model: os.cpus()[0]?.model ?? 'unknown' },
      floors,
      scenarios: results,
      revocation_propagation_ms: { p50: round(quantile(delays, 0.5)), p99: round(quantile(delays, 0.99)), samples: delays.length },
      rss_max_mb: rss.stop(),
      settings: { duration_s: DURATION, rounds: ROUNDS, statistic: 'median over rounds', connections: CONNECTIONS, log_level: 'warn', node_flags: START_FLAGS },
    };
    console.log(`revocation propagation to 2 other instances: p50 ${out.revocation_propagation_ms.p50} ms, p99 ${out.revocation_propagation_ms.p99} ms (${delays.length} samples)`);
    console.log(`max RSS of the Latchkey processes: ${out.rss_max_mb} MB`);
    writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(path.join(__dirname, 'results.svg'), svg(out));
    console.log('wrote bench/results.json and bench/results.svg');
  } finally {
    rss.stop();
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
