/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) persisted under the data
 * dir, served on a loopback port by pglite-socket so the rest of Latchkey talks to it over the
 * ordinary Postgres protocol, exactly as to an external server. PGlite is single-connection,
 * so the pool in front of it must have size 1.
 */
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on right now. */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Serves `db` over the Postgres protocol on 127.0.0.1:`port` (0: any free port). */
export async function servePglite(db: PGlite, port = 0): Promise<{ url: string; stop(): Promise<void> }> {
  const chosen = port || (await freeLoopbackPort());
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: chosen, maxConnections: 1 });
  await server.start();
  return { url: `postgresql://postgres@127.0.0.1:${chosen}/postgres`, stop: () => server.stop() };
}

/** Opens (creating on first use) `<dataDir>/pgdata` and serves it on 127.0.0.1:`port` (0: any free port). */
export async function startEmbedded(dataDir: string, port = 0): Promise<EmbeddedDatabase> {
  const pgdata = path.join(dataDir, 'pgdata');
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(pgdata);
  let served;
  try {
    served = await servePglite(db, port);
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    url: served.url,
    dataDir: pgdata,
    async stop() {
      await served.stop();
      await db.close();
    },
  };
}
