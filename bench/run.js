// `npm run bench`: the production build against a real Postgres, driven by autocannon on
// loopback. Prints a table and writes bench/results.json and bench/results.svg (keeping the
// "scale" key that `npm run bench -- --scale` wrote there, see bench/scale.js, and the
// "resource_server" key of `npm run bench -- --resource-server`, see bench/resource-server.js).
//
// Each scenario cycles round robin through a working set made through the HTTP API
// (bench/lib.js): 10,000 access tokens from 1,000 PATs of 1,000 users, and their 1,000
// legacy tokens, not one token repeated.
//
//   BENCH_DURATION=5 (seconds per scenario and round)  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50
//   BENCH_REVOCATIONS=200   Figures are medians over the rounds.
//   BENCH_USERS=1000  BENCH_PATS=1000  BENCH_ACCESS_TOKENS=10000 (the working set)
//   BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres (an admin connection)
'use strict';
const { randomBytes } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client } = require('pg');
const {
  ADMIN_URL,
  CONNECTIONS,
  DURATION,
  ROUNDS,
  START_FLAGS,
  aggregate,
  cannon,
  createPat,
  describeSet,
  floor,
  json,
  latchkey,
  makeWorkingSet,
  measure,
  median,
  positiveInt,
  quantile,
  readResults,
  refresh,
  rssSampler,
  scenario,
  scratchDatabase,
  secondsSince,
  stopAll,
  summary,
  warmUp,
  writeResults,
} = require('./lib');

const REVOCATIONS = positiveInt('BENCH_REVOCATIONS', 200);
const SCENARIOS = ['refresh', 'bearer_whoami', 'legacy_token', 'introspect', 'forward_auth'];

function svg(results) {
  const rows = [
    { name: 'node:http floor', rps: results.floors.node_http.rps, p99: results.floors.node_http.p99_ms, floor: true },
    { name: 'express floor', rps: results.floors.express.rps, p99: results.floors.express.p99_ms, floor: true },
    ...results.scenarios.map((s) => ({ name: s.name, rps: s.rps, p99: s.p99_ms, ratio: s.ratio_to_express })),
  ];
  const max = Math.max(...rows.map((r) => r.rps));
  const W = 760,
    bar = 26,
    gap = 12,
    left = 150,
    width = 480,
    top = 40;
  const H = top + rows.length * (bar + gap) + 58;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const items = rows.map((r, i) => {
    const y = top + i * (bar + gap);
    const w = Math.max(1, Math.round((r.rps / max) * width));
    const label = `${r.rps.toLocaleString('en-US')} req/s · p99 ${r.p99} ms${r.ratio === undefined ? '' : ` · ${r.ratio}× express`}`;
    return (
      `<text x="${left - 8}" y="${y + 18}" text-anchor="end">${esc(r.name)}</text>` +
      `<rect x="${left}" y="${y}" width="${w}" height="${bar}" fill="${r.floor ? '#9aa5b1' : '#2f6fdf'}"/>` +
      `<text x="${left + w + 6}" y="${y + 18}">${esc(label)}</text>`
    );
  });
  const m = results.machine;
  const ws = results.settings.working_set;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 200}" height="${H}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="24" font-size="15" font-weight="bold">Latchkey, ${CONNECTIONS} connections, median of ${ROUNDS} × ${DURATION} s (${m.cpus} cores, Node ${m.node})</text>
${items.join('\n')}
<text x="${left}" y="${H - 32}">Round robin over ${ws.access_tokens.toLocaleString('en-US')} access tokens, ${ws.pats.toLocaleString('en-US')} PATs and ${ws.legacy_tokens.toLocaleString('en-US')} legacy tokens of ${ws.users.toLocaleString('en-US')} users.</text>
<text x="${left}" y="${H - 14}">Revocation visible on 3 instances: p50 ${results.revocation_propagation_ms.p50} ms, p99 ${results.revocation_propagation_ms.p99} ms (${results.revocation_propagation_ms.samples} samples). Max RSS ${results.rss_max_mb} MB.</text>
</svg>
`;
}

/**
 * Rounds: the floors and every scenario in turn, so that a slow minute of a shared machine
 * hits them alike; each ratio is taken against the same round's Express floor.
 */
async function runRounds(server, set, floorUrls) {
  const base = server.url;
  const scenarios = SCENARIOS.map((name) => scenario(name, base, set));
  for (const s of scenarios) await warmUp(s);
  const runs = { express: [], node_http: [], ...Object.fromEntries(SCENARIOS.map((name) => [name, []])) };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of ['express', 'node_http']) runs[kind].push(summary(await cannon({ url: floorUrls[kind] })));
    for (const { name, opts } of scenarios) {
      const result = await measure(server, opts);
      runs[name].push({ ...result, ratio: result.rps / runs.express.at(-1).rps });
    }
    console.log(
      `round ${round}/${ROUNDS}: express ${runs.express.at(-1).rps} req/s, ${SCENARIOS.map((name) => `${name} ${runs[name].at(-1).rps}`).join(', ')}`,
    );
  }
  const floors = Object.fromEntries(
    ['express', 'node_http'].map((kind) => [
      kind,
      { rps: Math.round(median(runs[kind].map((r) => r.rps))), p99_ms: median(runs[kind].map((r) => r.p99_ms)) },
    ]),
  );
  for (const kind of ['express', 'node_http'])
    console.log(`floor ${kind}: ${floors[kind].rps} req/s, p99 ${floors[kind].p99_ms} ms`);
  const rows = SCENARIOS.map((name) => {
    const { db_queries_per_request, ...row } = aggregate(name, runs[name]);
    return {
      ...row,
      ratio_to_express: Math.round(median(runs[name].map((r) => r.ratio)) * 100) / 100,
      db_queries_per_request,
    };
  });
  for (const row of rows) {
    console.log(
      `${row.name}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, errors ${row.errors}, ${row.ratio_to_express}x express, ${row.db_queries_per_request} db queries/request`,
    );
  }
  return { floors, scenarios: rows };
}

/**
 * Revocation propagation: a working-set user creates a PAT on A, B refreshes it, then A
 * revokes it; timed until B and C both refuse the derived token. Revoked PATs do not count
 * against the per-user limit, and the creations are spread over the users.
 */
async function revocationDelays(a, b, c, set) {
  const refused = async (url, token) =>
    (await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status === 401;
  const delays = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const pat = await createPat(a.url, set.userAuths[i % set.userAuths.length], `r${i}`);
    const access = await refresh(b.url, pat);
    for (const url of [b.url, c.url]) {
      const res = await fetch(`${url}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${access}` } });
      if (res.status !== 200) throw new Error(`a fresh token was refused by ${url}: ${res.status} ${await res.text()}`);
    }
    const started = performance.now();
    const revoke = json(`${a.url}/api/token/blacklist/`, { method: 'POST', body: JSON.stringify({ refresh: pat }) });
    await Promise.all(
      [b.url, c.url].map(async (url) => {
        while (!(await refused(url, access)))
          if (performance.now() - started > 5_000) throw new Error('revocation never arrived');
      }),
    );
    delays.push(performance.now() - started);
    if ((await revoke).status !== 204) throw new Error('revoke failed');
  }
  return delays.sort((x, y) => x - y);
}

async function main() {
  const secret = randomBytes(32).toString('base64url');
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const db = await scratchDatabase(admin);
  const latchkeyPids = [];
  const rss = rssSampler(() => latchkeyPids);
  try {
    const a = await latchkey(db.url, secret);
    latchkeyPids.push(a.pid);
    const started = performance.now();
    const set = await makeWorkingSet(a.url);
    console.log(`working set: ${JSON.stringify(describeSet(set))} made through the API in ${secondsSince(started)} s`);

    const floorUrls = { express: await floor('express'), node_http: await floor('node_http') };
    const { floors, scenarios } = await runRounds(a, set, floorUrls);

    const b = await latchkey(db.url, secret);
    const c = await latchkey(db.url, secret);
    latchkeyPids.push(b.pid, c.pid);
    const delays = await revocationDelays(a, b, c, set);
    const round = (x) => Math.round(x * 10) / 10;
    const out = {
      machine: { cpus: os.cpus().length, node: process.version, model: os.cpus()[0]?.model ?? 'unknown' },
      floors,
      scenarios,
      revocation_propagation_ms: {
        p50: round(quantile(delays, 0.5)),
        p99: round(quantile(delays, 0.99)),
        samples: delays.length,
      },
      rss_max_mb: rss.stop(),
      settings: {
        duration_s: DURATION,
        rounds: ROUNDS,
        statistic: 'median over rounds, after one warm-up pass over the working set',
        connections: CONNECTIONS,
        working_set: describeSet(set),
        order: 'round robin',
        log_level: 'warn',
        node_flags: START_FLAGS,
      },
    };
    console.log(
      `revocation propagation to 2 other instances: p50 ${out.revocation_propagation_ms.p50} ms, p99 ${out.revocation_propagation_ms.p99} ms (${delays.length} samples)`,
    );
    console.log(`max RSS of the Latchkey processes: ${out.rss_max_mb} MB`);
    const { scale, resource_server } = readResults();
    await writeResults({ ...out, ...(scale && { scale }), ...(resource_server && { resource_server }) });
    writeFileSync(path.join(__dirname, 'results.svg'), svg(out));
    console.log('wrote bench/results.json and bench/results.svg');
  } finally {
    rss.stop();
    await stopAll();
    await db.drop();
    await admin.end();
  }
}

function onInterrupt() {
  console.error('interrupted: stopping the processes this benchmark started');
  stopAll('SIGKILL');
  process.exitCode = 130;
}

if (require.main === module) {
  process.once('SIGINT', onInterrupt);
  const mode = process.argv.includes('--scale')
    ? require('./scale').main
    : process.argv.includes('--resource-server')
      ? require('./resource-server').main
      : main;
  mode().catch((err) => {
    console.error(err);
    stopAll('SIGKILL');
    process.exit(1);
  });
}
