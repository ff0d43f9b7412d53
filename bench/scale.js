// `npm run bench -- --scale` (also `npm run bench:scale`): Latchkey on a big database beside
// an empty one, in the same run. Writes the "scale" key of bench/results.json, keeping the
// others.
//
// Two scratch databases, each migrated and bootstrapped by a first start of the server:
// "empty" keeps only the admin; "seeded" is then filled by SQL with BENCH_SCALE_USERS users
// spread over BENCH_SCALE_ORGS organizations (each user a member of one), PATs (one in ten
// revoked), live sessions and legacy tokens. A second start on each makes the working set
// through the API (bench/lib.js) and stops. Then both start once more, cold, and are measured
// side by side: time from spawn to the first /readyz 200, RSS at ready and after the load,
// req/s, p99 and DB queries per request of bearer_whoami, refresh and legacy_token round robin
// over the working set (after one warm-up pass; rounds alternate between the databases), and
// the first request of access tokens this process never saw (users made for the purpose,
// outside the working set).
//
//   BENCH_SCALE_USERS=1000000  BENCH_SCALE_ORGS=10
//   BENCH_SCALE_PATS=(2 × users)  BENCH_SCALE_SESSIONS=(users / 5)  BENCH_SCALE_LEGACY=(users / 2, at most one per user)
//   BENCH_COLD_SAMPLES=5 (cold tokens timed per database)
//   and bench/lib.js's BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_USERS, BENCH_PATS,
//   BENCH_ACCESS_TOKENS, BENCH_DATABASE_URL. Seeding needs a superuser (session_replication_role).
'use strict';
const { randomBytes } = require('node:crypto');
const os = require('node:os');
const bcrypt = require('bcrypt');
const { Client } = require('pg');
const {
  ADMIN,
  ADMIN_URL,
  CONNECTIONS,
  DURATION,
  ROUNDS,
  START_FLAGS,
  WORKING_SET,
  aggregate,
  describeSet,
  latchkey,
  makeWorkingSet,
  measure,
  median,
  positiveInt,
  readResults,
  rssMb,
  rssSampler,
  scenario,
  scratchDatabase,
  secondsSince,
  stopAll,
  warmUp,
  writeResults,
} = require('./lib');

const SCENARIOS = ['bearer_whoami', 'refresh', 'legacy_token'];
const COLD_SAMPLES = positiveInt('BENCH_COLD_SAMPLES', 5);
/** A start on a big database may be slow (or fail: then the run stops and says so). */
const READY_TIMEOUT_MS = 120_000;

function scaleSizes() {
  const users = positiveInt('BENCH_SCALE_USERS', 1_000_000);
  return {
    users,
    organizations: positiveInt('BENCH_SCALE_ORGS', 10),
    pats: positiveInt('BENCH_SCALE_PATS', 2 * users),
    sessions: positiveInt('BENCH_SCALE_SESSIONS', Math.max(1, Math.round(users / 5))),
    legacy: Math.min(users, positiveInt('BENCH_SCALE_LEGACY', Math.max(1, Math.round(users / 2)))),
  };
}

/**
 * The seeding statements: one INSERT ... SELECT over generate_series per table. Users and
 * organizations get explicit ids after the existing ones (the sequences are moved past them);
 * user u belongs to organization u mod orgs, its active one. The first user of each
 * organization owns it; roles otherwise mostly annotator. One user in a hundred is inactive.
 * Each PAT carries its owner's role, the signing key's kid, its own jti as family and a
 * 200-year expiry; one in ten is revoked. Half the live PATs and legacy tokens were last used
 * within the day. Sessions and legacy tokens are spread evenly over
 * the users (one each while there are fewer of them than users). Integers are validated
 * sizes; strings are parameters.
 */
function seedStatements({ users, organizations, pats, sessions, legacy }, base) {
  const user = (u) => `${base.user} + ${u}`;
  const org = (u) => `${base.org} + 1 + ${u} % ${organizations}`;
  const role = (u) =>
    `(CASE WHEN ${u} <= ${organizations} THEN 'owner' WHEN ${u} % 100 = 1 THEN 'administrator' WHEN ${u} % 10 = 2 THEN 'manager' ELSE 'annotator' END)::role`;
  const spread = (i, count) => `1 + (${i} - 1)::bigint * ${users} / ${count}`;
  // Every other token was used within the last day, as in a database in use.
  const recentUse = (i, created) =>
    `CASE WHEN ${i} % 2 = 1 THEN greatest(${created}, now() - ${i} % 1440 * interval '1 minute') END`;
  const hex64 = (what) => `encode(sha256(convert_to($1 || ${what}, 'UTF8')), 'hex')`;
  return [
    [
      'organizations',
      organizations,
      [],
      `INSERT INTO organizations (id, title, legacy_api_tokens_enabled)
       SELECT ${base.org} + o, 'Scale organization ' || o, true FROM generate_series(1, ${organizations}) o`,
    ],
    [
      'users',
      users,
      [base.passwordHash],
      `INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, active_organization_id, created_at)
       SELECT ${user('u')}, 'scale-user-' || u || '@bench.example.com', $1, 'Scale', 'User ' || u, u % 100 <> 0, ${org('u')}, now() - u % 1000 * interval '1 hour'
       FROM generate_series(1, ${users}) u`,
    ],
    [
      'memberships',
      users,
      [],
      `INSERT INTO memberships (user_id, organization_id, role)
       SELECT ${user('u')}, ${org('u')}, ${role('u')} FROM generate_series(1, ${users}) u`,
    ],
    [
      'personal_access_tokens',
      pats,
      [base.salt, base.kid],
      `INSERT INTO personal_access_tokens (jti, name, user_id, organization_id, role, kid, family_id, created_at, expires_at, last_used_at, revoked_at, revoked_reason)
       SELECT jti, 'scale token ' || p, ${user('u')}, ${org('u')}, ${role('u')}, $2, jti, created, created + interval '73000 days', ${recentUse('p', 'created')},
              CASE WHEN p % 10 = 0 THEN created + interval '1 day' END, CASE WHEN p % 10 = 0 THEN 'revoked'::revocation_reason END
       FROM (SELECT p, 1 + (p - 1) % ${users} AS u, md5($1 || ':pat:' || p) AS jti, now() - p % 365 * interval '1 day' AS created
             FROM generate_series(1, ${pats}) p) t`,
    ],
    [
      'sessions',
      sessions,
      [base.salt],
      `INSERT INTO sessions (id, token_hash, user_id, organization_id, created_at, expires_at)
       SELECT md5($1 || ':session:' || s), ${hex64("':session secret:' || s")}, ${user('u')}, ${org('u')}, created, created + interval '14 days'
       FROM (SELECT s, ${spread('s', sessions)} AS u, now() - s % 300 * interval '1 hour' AS created FROM generate_series(1, ${sessions}) s) t`,
    ],
    [
      'legacy_tokens',
      legacy,
      [base.salt],
      `INSERT INTO legacy_tokens (token_hash, hint, user_id, organization_id, created_at, last_used_at)
       SELECT hash, 'lkt_…' || right(hash, 4), ${user('u')}, ${org('u')}, created, ${recentUse('l', 'created')}
       FROM (SELECT l, ${spread('l', legacy)} AS u, ${hex64("':legacy:' || l")} AS hash, now() - l % 1000 * interval '1 hour' AS created
             FROM generate_series(1, ${legacy}) l) t`,
    ],
  ];
}

const SEEDED_TABLES = ['organizations', 'users', 'memberships', 'personal_access_tokens', 'sessions', 'legacy_tokens'];

/**
 * The seeded tables' indexes that back no constraint (all but the primary keys), with their
 * definitions: dropped before the bulk insert and rebuilt after it from those very
 * definitions, because building an index by sorting is far faster than millions of random
 * insertions into it (the jti and family_id indexes above all).
 */
async function secondaryIndexes(client) {
  const { rows } = await client.query(
    `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
    [SEEDED_TABLES],
  );
  return rows;
}

/**
 * Fills a migrated database (no server running) by SQL. The session is a replica's, so
 * neither the NOTIFY triggers nor the foreign-key checks fire for millions of rows. Then
 * VACUUM ANALYZE and a checkpoint, so the measured servers meet a settled database.
 */
async function seed(dbUrl, sizes) {
  const client = new Client({ connectionString: dbUrl });
  await client.connect();
  const started = performance.now();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query('SET synchronous_commit = off');
    await client.query("SET maintenance_work_mem = '256MB'");
    const one = async (sql) => (await client.query(sql)).rows[0];
    const base = {
      user: (await one('SELECT coalesce(max(id), 0) AS id FROM users')).id,
      org: (await one('SELECT coalesce(max(id), 0) AS id FROM organizations')).id,
      kid: (await one("SELECT kid FROM signing_keys WHERE state = 'signing'")).kid,
      salt: randomBytes(8).toString('hex'),
      // Seeded users can log in with the bench password (cost 4: the hash is only for show).
      passwordHash: bcrypt.hashSync(ADMIN.password, 4),
    };
    const indexes = await secondaryIndexes(client);
    for (const { name } of indexes) await client.query(`DROP INDEX "${name}"`);
    for (const [table, rows, params, sql] of seedStatements(sizes, base)) {
      const t0 = performance.now();
      await client.query(sql, params);
      console.log(`seeded ${rows.toLocaleString('en-US')} ${table} in ${secondsSince(t0)} s`);
    }
    for (const table of ['users', 'organizations'])
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    let t0 = performance.now();
    for (const { definition } of indexes) await client.query(definition);
    console.log(`rebuilt ${indexes.length} indexes in ${secondsSince(t0)} s`);
    t0 = performance.now();
    await client.query(`VACUUM (ANALYZE) ${SEEDED_TABLES.join(', ')}`);
    await client.query('CHECKPOINT');
    console.log(`vacuum, analyze and checkpoint in ${secondsSince(t0)} s`);
    const { mb } = await one('SELECT round(pg_database_size(current_database()) / 1048576.0) AS mb');
    return { seconds: Math.round((performance.now() - started) / 100) / 10, database_mb: Number(mb) };
  } finally {
    await client.end();
  }
}

/** Migrates and bootstraps `db` by a first start, seeds it if `sizes`, and makes the working set on a second start. */
async function prepare(db, label, secret, sizes) {
  const first = await latchkey(db.url, secret);
  await first.stop();
  const seeded = sizes && (await seed(db.url, sizes));
  const maker = await latchkey(db.url, secret, { timeoutMs: READY_TIMEOUT_MS });
  const started = performance.now();
  const set = await makeWorkingSet(maker.url, WORKING_SET, COLD_SAMPLES);
  await maker.stop();
  console.log(
    `${label}: working set ${JSON.stringify(describeSet(set))} made through the API in ${secondsSince(started)} s`,
  );
  return { label, db, set, seeded };
}

/** Starts the measured instance: readiness time and RSS at ready, then RSS sampled until the end. */
async function startMeasured(c, secret) {
  const server = await latchkey(c.db.url, secret, { timeoutMs: READY_TIMEOUT_MS });
  const rssAtReady = rssMb(server.pid);
  console.log(`${c.label}: ready in ${server.readyMs} ms, RSS ${rssAtReady} MB`);
  return {
    ...c,
    server,
    readyMs: server.readyMs,
    rssAtReady,
    rss: rssSampler(() => [server.pid]),
    runs: Object.fromEntries(SCENARIOS.map((name) => [name, []])),
  };
}

/**
 * The first request of each cold access token (its PAT, user and signature never seen by this
 * process), then the same token's second request for contrast. A /healthz first, so the
 * timing does not include opening a connection.
 */
async function coldFirstRequests(base, tokens) {
  const timeWhoami = async (token) => {
    const started = performance.now();
    const res = await fetch(`${base}/api/current-user/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    await res.text();
    if (res.status !== 200) throw new Error(`a cold token was refused: ${res.status}`);
    return performance.now() - started;
  };
  const first = [];
  const second = [];
  for (const token of tokens) {
    await (await fetch(`${base}/healthz`)).text();
    first.push(await timeWhoami(token));
    second.push(await timeWhoami(token));
  }
  const ms = (x) => Math.round(x * 100) / 100;
  return {
    median: ms(median(first)),
    max: ms(Math.max(...first)),
    samples: first.length,
    second_request_median: ms(median(second)),
  };
}

function report(c) {
  const scenarios = SCENARIOS.map((name) => aggregate(name, c.runs[name]));
  return {
    ready_ms: c.readyMs,
    rss_at_ready_mb: c.rssAtReady,
    rss_after_load_mb: c.rssAfterLoad,
    rss_max_mb: c.rssMax,
    scenarios,
    cold_token_first_request_ms: c.cold,
  };
}

function printComparison(empty, seeded) {
  const rows = [
    ['ready (ms)', empty.ready_ms, seeded.ready_ms],
    ['RSS at ready (MB)', empty.rss_at_ready_mb, seeded.rss_at_ready_mb],
    ['RSS after load (MB)', empty.rss_after_load_mb, seeded.rss_after_load_mb],
    ['RSS max (MB)', empty.rss_max_mb, seeded.rss_max_mb],
    ...SCENARIOS.flatMap((name, i) => {
      const [e, s] = [empty.scenarios[i], seeded.scenarios[i]];
      return [
        [`${name} req/s`, e.rps, s.rps],
        [`${name} p99 (ms)`, e.p99_ms, s.p99_ms],
        [`${name} errors`, e.errors, s.errors],
        [`${name} DB queries/request`, e.db_queries_per_request, s.db_queries_per_request],
      ];
    }),
    [
      'cold token 1st request median (ms)',
      empty.cold_token_first_request_ms.median,
      seeded.cold_token_first_request_ms.median,
    ],
    ['cold token 1st request max (ms)', empty.cold_token_first_request_ms.max, seeded.cold_token_first_request_ms.max],
    [
      'same token 2nd request median (ms)',
      empty.cold_token_first_request_ms.second_request_median,
      seeded.cold_token_first_request_ms.second_request_median,
    ],
  ];
  console.log(`${''.padEnd(36)}${'empty'.padStart(10)}${'seeded'.padStart(10)}`);
  for (const [what, e, s] of rows) console.log(`${what.padEnd(36)}${String(e).padStart(10)}${String(s).padStart(10)}`);
}

/**
 * The issue's targets for the seeded database, each with the figures it was judged on:
 * ready within 5 s, RSS under 200 MB at ready and after the load, bearer_whoami and refresh
 * within 10% of the empty database's req/s, and no errors anywhere.
 */
function targets(empty, seeded, ratios) {
  const checks = {
    ready_under_5_s: [seeded.ready_ms < 5000, `${seeded.ready_ms} ms`],
    rss_under_200_mb: [
      Math.max(seeded.rss_at_ready_mb, seeded.rss_after_load_mb) < 200,
      `${seeded.rss_at_ready_mb} MB at ready, ${seeded.rss_after_load_mb} MB after load`,
    ],
    rps_within_10_percent: [
      ratios.bearer_whoami >= 0.9 && ratios.refresh >= 0.9,
      `bearer_whoami ${ratios.bearer_whoami}, refresh ${ratios.refresh} of empty`,
    ],
    zero_errors: [
      [...empty.scenarios, ...seeded.scenarios].every((row) => row.errors === 0),
      'both databases, every scenario',
    ],
  };
  for (const [name, [met, figures]] of Object.entries(checks))
    console.log(`target ${name}: ${met ? 'met' : 'MISSED'} (${figures})`);
  return Object.fromEntries(Object.entries(checks).map(([name, [met]]) => [name, met]));
}

/** Warm-up passes, then the rounds, alternating which database goes first so that drift of a shared machine hits both alike. */
async function loadSideBySide(cases) {
  for (const c of cases) for (const name of SCENARIOS) await warmUp(scenario(name, c.server.url, c.set));
  const shapes = new Map(cases.map((c) => [c, SCENARIOS.map((name) => scenario(name, c.server.url, c.set))]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of round % 2 ? cases : [...cases].reverse()) {
      for (const { name, opts } of shapes.get(c)) c.runs[name].push(await measure(c.server, opts));
    }
    console.log(
      `round ${round}/${ROUNDS}: ${cases.map((c) => `${c.label} ${SCENARIOS.map((name) => `${name} ${c.runs[name].at(-1).rps}`).join(', ')}`).join('; ')}`,
    );
  }
}

/** After the load: the cold tokens' first requests, then RSS. */
async function finish(c) {
  c.cold = await coldFirstRequests(c.server.url, c.set.coldAccess);
  c.rssAfterLoad = rssMb(c.server.pid);
  c.rssMax = Math.max(c.rss.stop(), c.rssAfterLoad);
}

function scaleResults(sizes, seeding, set, empty, seeded) {
  const ratios = Object.fromEntries(
    SCENARIOS.map((name, i) => [name, Math.round((seeded.scenarios[i].rps / empty.scenarios[i].rps) * 100) / 100]),
  );
  return {
    machine: { cpus: os.cpus().length, node: process.version, model: os.cpus()[0]?.model ?? 'unknown' },
    seeded_rows: {
      organizations: sizes.organizations,
      users: sizes.users,
      memberships: sizes.users,
      pats: sizes.pats,
      revoked_pats: Math.floor(sizes.pats / 10),
      live_sessions: sizes.sessions,
      legacy_tokens: sizes.legacy,
    },
    seed_seconds: seeding.seconds,
    database_mb: seeding.database_mb,
    working_set: describeSet(set),
    empty,
    seeded,
    rps_seeded_to_empty: ratios,
    targets_met: targets(empty, seeded, ratios),
    settings: {
      duration_s: DURATION,
      rounds: ROUNDS,
      statistic:
        'median over rounds, after one warm-up pass over the working set; rounds alternate between the databases',
      connections: CONNECTIONS,
      cold_samples: COLD_SAMPLES,
      log_level: 'warn',
      node_flags: START_FLAGS,
    },
  };
}

async function main() {
  const sizes = scaleSizes();
  const secret = randomBytes(32).toString('base64url');
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const dbs = [];
  try {
    console.log(`scale mode: seeding ${JSON.stringify(sizes)}`);
    const prepared = [];
    for (const [label, seedSizes] of [['empty'], ['seeded', sizes]]) {
      const db = await scratchDatabase(admin, label);
      dbs.push(db);
      prepared.push(await prepare(db, label, secret, seedSizes));
    }
    const cases = [];
    for (const c of prepared) cases.push(await startMeasured(c, secret));
    await loadSideBySide(cases);
    for (const c of cases) await finish(c);
    const [empty, seeded] = cases.map(report);
    printComparison(empty, seeded);
    await writeResults({
      ...readResults(),
      scale: scaleResults(sizes, prepared[1].seeded, prepared[0].set, empty, seeded),
    });
    console.log('wrote the "scale" key of bench/results.json');
  } finally {
    await stopAll();
    for (const db of dbs) await db.drop();
    await admin.end();
  }
}

module.exports = { main, seed };
