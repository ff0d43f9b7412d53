// `npm run bench:start`: how long `npm start` takes to be ready, and what the process holds in
// memory, in the two modes a newcomer and an operator meet first. Each figure is the median of
// BENCH_ROUNDS runs (default 3), measured from spawning `npm start` to the first /readyz 200;
// memory is the server's own resident set (`process_resident_memory_bytes` from its exporter)
// at ready and after BENCH_IDLE_SECONDS (default 5) more.
//
//   embedded, new data folder   a fresh LATCHKEY_DATA_DIR each run: the data folder is made from
//                               the prepared template, migrated, and a secret key generated
//   embedded, restart           the same folder again
//   Postgres, restart           DATABASE_URL to a scratch database (migrated by a first start)
//
// Writes the "start" key of bench/results.json.
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client } = require('pg');
const { ADMIN_URL, median, positiveInt, readResults, scratchDatabase, writeResults } = require('./lib');

const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const IDLE_SECONDS = positiveInt('BENCH_IDLE_SECONDS', 5);
const ROOT = path.resolve(__dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let nextPort = 18900;

/** `npm start` with `env`, in its own process group (npm, its shell and node stop together). */
async function npmStart(env) {
  const port = nextPort++;
  const metricsPort = nextPort++;
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LATCHKEY_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    await exited;
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(20);
    }
    const readyMs = performance.now() - started;
    const rss = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)[1]) / 2 ** 20;
    };
    const atReady = await rss();
    await sleep(IDLE_SECONDS * 1000);
    return { readyMs, rssAtReady: atReady, rssIdle: await rss() };
  } finally {
    await stop();
  }
}

const summarize = (runs) => ({
  ready_s: Number((median(runs.map((r) => r.readyMs)) / 1000).toFixed(2)),
  rss_at_ready_mb: Math.round(median(runs.map((r) => r.rssAtReady))),
  rss_idle_mb: Math.round(median(runs.map((r) => r.rssIdle))),
});

(async () => {
  const cold = [];
  const warm = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-start-'));
    try {
      const env = { DATABASE_URL: '', LATCHKEY_DATA_DIR: dataDir };
      cold.push(await npmStart(env));
      warm.push(await npmStart(env));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const scratch = await scratchDatabase(admin, 'start');
  const postgres = [];
  try {
    const env = { DATABASE_URL: scratch.url, LATCHKEY_SECRET_KEY: 'bench-only secret key, 32 characters or more' };
    await npmStart(env); // migrates
    for (let round = 0; round < ROUNDS; round++) postgres.push(await npmStart(env));
  } finally {
    await scratch.drop();
    await admin.end();
  }
  const start = {
    embedded_new_data_folder: summarize(cold),
    embedded_restart: summarize(warm),
    postgres_restart: summarize(postgres),
    rounds: ROUNDS,
    idle_seconds: IDLE_SECONDS,
    cpus: os.cpus().length,
  };
  console.table({
    'embedded, new data folder': start.embedded_new_data_folder,
    'embedded, restart': start.embedded_restart,
    'Postgres, restart': start.postgres_restart,
  });
  await writeResults({ ...readResults(), start });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
