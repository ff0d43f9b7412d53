#!/usr/bin/env node
// `prisma generate` offline. Prisma's CLI insists on a schema-engine binary before any
// command and tries to download one; generate never runs it, so any existing file will do.
'use strict';
const { spawnSync } = require('node:child_process');

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = require.resolve('prisma/build/index.js');
const run = spawnSync(process.execPath, [cli, 'generate', '--no-hints'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
