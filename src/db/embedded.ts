/**
 * The embedded default: PGlite (Postgres compiled to WebAssembly) persisted under the data
 * dir, served on a loopback port by pglite-socket so the rest of Latchkey talks to it over the
 * ordinary Postgres protocol, exactly as to an external server. PGlite is single-connection,
 * so the pool in front of it must have size 1.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  readonly url: string;
  readonly dataDir: string;
  /** How a new data folder was made (`template` or `initdb`); undefined when it already existed. */
  readonly created: 'template' | 'initdb' | undefined;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Loopback port to serve on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Postgres `shared_buffers`, in MiB: most of the embedded database's memory. */
  readonly sharedBuffersMb?: number;
}

/**
 * A freshly initialised data folder, made at build time by scripts/pglite-template.js: loading
 * it takes a second or two where `initdb` under WebAssembly takes ten or more.
 */
export const PGLITE_TEMPLATE = path.join(__dirname, '../../dist/pglite-template.tar.gz');

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

/**
 * Opens `<dataDir>/pgdata` and serves it on 127.0.0.1. A new folder is made from the prepared
 * template when the build made one (see PGLITE_TEMPLATE), by `initdb` otherwise.
 */
export async function startEmbedded(dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const pgdata = path.join(dataDir, 'pgdata');
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  const created = existsSync(path.join(pgdata, 'PG_VERSION'))
    ? undefined
    : existsSync(PGLITE_TEMPLATE)
      ? 'template'
      : 'initdb';
  const db = await PGlite.create(pgdata, {
    ...(created === 'template' ? { loadDataDir: new Blob([await readFile(PGLITE_TEMPLATE)]) } : {}),
    postgresqlconf: `shared_buffers = ${options.sharedBuffersMb ?? 16}MB`,
  });
  let served;
  try {
    served = await servePglite(db, options.port ?? 0);
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    url: served.url,
    dataDir: pgdata,
    created,
    async stop() {
      await served.stop();
      await db.close();
    },
  };
}
