#!/usr/bin/env node
// `npm start` builds only when a source changed since the last build: `npm install` builds once
// (`prepare`), and a restart then costs the server's own start, not a compile.
//
//   build-if-stale.js           runs `npm run build` when any input is newer than the stamp
//   build-if-stale.js --stamp   records that the build just finished (the build's last step)
//
// Inputs are the files the build reads: the server's, the packages', the pages' sources, the
// Prisma schema, and the build's own configuration.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync, writeFileSync, existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist/.build-stamp');
const INPUTS = [
  'src',
  'web',
  'packages/client/src',
  'packages/express/src',
  'prisma/schema.prisma',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];
/** Written by the build itself, or not read by it. */
const SKIP = new Set(['generated', 'node_modules', 'dist']);

/** The newest modification time under `entry` (a file or a folder), in milliseconds. */
function newest(entry) {
  let stats;
  try {
    stats = statSync(entry);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs; // a deleted file changes its folder's time
  for (const child of readdirSync(entry, { withFileTypes: true })) {
    if (SKIP.has(child.name)) continue;
    latest = Math.max(latest, newest(path.join(entry, child.name)));
  }
  return latest;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = INPUTS.map((input) => newest(path.join(root, input))).some((time) => time > built);
if (!changed) process.exit(0);
process.stdout.write(built ? 'Sources changed since the last build: building.\n' : 'Not built yet: building.\n');
const run = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
