#!/usr/bin/env node
// A freshly initialised PGlite data folder, prepared at build time (dist/pglite-template.tar.gz),
// so that the embedded database's first start loads it in a second or two instead of running
// `initdb` under WebAssembly (10 to 17 s on a small machine). Made again only when the
// installed PGlite changes; the server falls back to `initdb` when it is absent.
'use strict';
const { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'dist/pglite-template.tar.gz');
const versionFile = `${target}.version`;
// The package's exports do not include its package.json: read it beside its entry point.
const pgliteDir = path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..');
const { version } = JSON.parse(readFileSync(path.join(pgliteDir, 'package.json'), 'utf8'));

if (existsSync(target) && existsSync(versionFile) && readFileSync(versionFile, 'utf8') === version) process.exit(0);

(async () => {
  const { PGlite } = await import('@electric-sql/pglite');
  process.stdout.write(`Preparing the embedded database's data folder (PGlite ${version}, once)...\n`);
  const db = await PGlite.create();
  const tarball = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
  await db.close();
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(`${target}.partial`, tarball);
  renameSync(`${target}.partial`, target);
  writeFileSync(versionFile, version);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
