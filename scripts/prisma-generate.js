#!/usr/bin/env node
// `prisma generate` offline, and only when the schema (or Prisma) changed since last time.
// Prisma's CLI insists on a schema-engine binary before any command and tries to download
// one; generate never runs it, so pointing at any existing file (node itself) suffices.
'use strict';
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { readFileSync, writeFileSync, existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'src/generated/prisma/.schema-sha256');
const fingerprint = createHash('sha256')
  .update(readFileSync(path.join(root, 'prisma/schema.prisma')))
  .update(require('prisma/package.json').version)
  .digest('hex');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === fingerprint && !process.argv.includes('--force')) {
  process.stdout.write('Prisma Client is up to date with prisma/schema.prisma\n');
  process.exit(0);
}

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = require.resolve('prisma/build/index.js');
const run = spawnSync(process.execPath, [cli, 'generate', '--no-hints'], { stdio: 'inherit', env, cwd: root });
if (run.status === 0) writeFileSync(stamp, fingerprint);
process.exit(run.status ?? 1);
