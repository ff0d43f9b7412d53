#!/usr/bin/env node
// A throwaway PGlite served on a free loopback port, in its own process (PGlite loads its
// wasm with import(), which jest's sandbox does not allow). Usage: pglite-server.js [dump].
// Prints {"url": ...} once serving; SIGTERM stops it.
'use strict';
const { readFileSync } = require('node:fs');
const { PGlite } = require('@electric-sql/pglite');
// The server's own code, as built by `pretest`.
const { servePglite } = require('../../dist/db/embedded.js');

(async () => {
  const dump = process.argv[2];
  const db = await PGlite.create(dump ? { loadDataDir: new Blob([readFileSync(dump)]) } : {});
  const served = await servePglite(db);
  process.once('SIGTERM', async () => {
    await served.stop();
    await db.close();
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ url: served.url })}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
