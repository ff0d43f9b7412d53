/** PGlite served over the Postgres protocol on a free loopback port (the test fallback). */
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import net from 'node:net';

export async function servePglite(db: PGlite): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 1 });
  await server.start();
  return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
}
