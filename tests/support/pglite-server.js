#!/usr/bin/env node
// A throwaway PGlite served on a free loopback port, in its own process (PGlite loads its
// wasm with import(), which jest's sandbox does not allow). Usage: pglite-server.js [dump].
// Prints {"url": ...} once serving; SIGTERM stops it.
'use strict';
const { readFileSync } = require('node:fs');
const net = require('node:net');
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

(async () => {
  const dump = process.argv[2];
  const db = await PGlite.create(dump ? { loadDataDir: new Blob([readFileSync(dump)]) } : {});
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 1 });
  await server.start();
  process.once('SIGTERM', async () => {
    await server.stop();
    await db.close();
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ url: `postgresql://postgres@127.0.0.1:${port}/postgres` })}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
