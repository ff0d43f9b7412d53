/**
 * The process lifecycle, shared by `npm start` and `latchkey serve`:
 * listen at once (so /healthz answers and /readyz says 503 while we connect) → embedded
 * database if no DATABASE_URL → connect with retries → migrate → bootstrap the first owner →
 * ready. `stop()` is the graceful shutdown: stop accepting, let in-flight requests finish
 * within the grace period, then close the pool and the embedded database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import type { Config } from './config';
import { Database, describeUrl } from './db/database';
import { startEmbedded, type EmbeddedDatabase } from './db/embedded';
import { migrate, readMigrations } from './db/migrator';
import { resolveSecretKey } from './keys/secret-key';
import type { Logger } from './logger';
import { bootstrapFirstOwner } from './orgs/orgs.store';
import { hashPassword } from './users/passwords';

export interface RunningServer {
  readonly url: string;
  /** Resolves once the database is connected and migrated. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const secretKey = await resolveSecretKey(config);
  if (secretKey.source === 'generated') logger.info({ dataDir: config.dataDir }, 'generated LATCHKEY_SECRET_KEY and stored it in the data dir');
  const migrations = await readMigrations();
  let database: Database | undefined;
  let embedded: EmbeddedDatabase | undefined;
  const aborter = new AbortController();

  const app = createApp({ config, logger, database: () => database, migrations });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info({ url }, 'listening');

  const ready = (async () => {
    let dbUrl = config.databaseUrl;
    if (!dbUrl) {
      embedded = await startEmbedded(config.dataDir, config.db.embeddedPort);
      dbUrl = embedded.url;
      logger.info({ dataDir: embedded.dataDir, db: describeUrl(dbUrl) }, 'embedded database (PGlite) started');
    }
    const db = await Database.connect(dbUrl, {
      poolSize: embedded ? 1 : config.db.poolSize,
      connectTimeoutSeconds: config.db.connectTimeoutSeconds,
      logger,
      signal: aborter.signal,
    });
    const applied = await db.withClient((client) => migrate(client, migrations));
    logger.info({ applied, total: migrations.length }, applied.length ? 'migrations applied' : 'database schema up to date');
    if (config.admin) {
      const created = await bootstrapFirstOwner(db.prisma, {
        email: config.admin.email,
        passwordHash: await hashPassword(config.admin.password, config.bcryptRounds),
        organization: config.admin.organization,
      });
      if (created) logger.info({ userId: created.user.id, organizationId: created.organization.id }, 'created the first organization and its owner');
    }
    database = db;
    logger.info({ db: describeUrl(dbUrl) }, 'ready');
  })();
  // Callers await `ready`; this keeps an early failure from being an unhandled rejection meanwhile.
  ready.catch(() => undefined);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      aborter.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection turns idle when its in-flight response ends; close those as they do.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const grace = setTimeout(() => {
        logger.warn('shutdown grace period over; closing open connections');
        server.closeAllConnections();
      }, config.shutdownGraceSeconds * 1000);
      await closed;
      clearInterval(sweep);
      clearTimeout(grace);
      await ready.catch(() => undefined);
      await database?.close();
      await embedded?.stop();
      database = undefined;
      logger.info('stopped');
    })());

  return { url, ready, stop };
}
