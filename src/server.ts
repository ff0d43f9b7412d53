/**
 * The process lifecycle, shared by `npm start` and `latchkey serve`:
 * bind the ports → hold the data dir (embedded only: see db/data-dir-lock) → listening (so
 * /healthz answers and /readyz says 503 while we connect) → embedded database if no
 * DATABASE_URL → connect with retries → migrate → bootstrap the first owner → ready. The ports
 * come first so that a port in use stops the start before anything is written to a new data
 * dir (its secret key, PGlite's first initdb). The Prometheus exporter (unless
 * LATCHKEY_METRICS_PORT is 0) listens beside the API from the start, on a port and address of
 * its own, and stops with it. `stop()` is the graceful
 * shutdown: answer with `Connection: close` from now on, stop accepting, let in-flight
 * requests finish within the grace period, then close the pool and the embedded database, and
 * let go of the data dir.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from './app';
import { compose, type Composed } from './compose';
import type { Config } from './config';
import type { Services } from './context';
import { describeUrl } from './db/database';
import { lockDataDir, type DataDirLock } from './db/data-dir-lock';
import { migrate, readMigrations } from './db/migrator';
import { openDatabase, type OpenDatabase } from './db/open';
import { resolveSecretKey } from './keys/secret-key';
import { addressOf, listen, reachableUrls } from './listen';
import type { Logger } from './logger';
import { Metrics, serveMetrics, type MetricsServer } from './metrics/metrics';
import { changes } from './audit/changes';
import { bootstrapFirstOwner } from './orgs/orgs.service';
import { setupNotice } from './setup/setup.service';
import { hashPassword } from './users/passwords';

/**
 * Once stopping, a request a client sent just before the signal may not have been read yet,
 * its connection looking idle: idle connections are closed only after this window.
 */
const DRAIN_WINDOW_MS = 100;

export interface RunningServer {
  readonly url: string;
  /** Resolves once the database is connected and migrated. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Throws at once, having written nothing: `PortInUseError` (or a `ConfigError` for a port or
 * host that cannot be had), then `DataDirInUseError` if another process holds the data dir.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const migrations = await readMigrations();
  let services: Services | undefined;
  let opened: OpenDatabase | undefined;
  let composed: Composed | undefined;
  const aborter = new AbortController();

  const metrics = config.metrics ? new Metrics(() => services) : undefined;
  const app = createApp({ config, logger, services: () => services, migrations, ...(metrics ? { metrics } : {}) });
  let draining = false;
  // While draining, every response closes its connection, so keep-alive clients stop reusing
  // it and the server empties as soon as in-flight requests finish.
  const server = http.createServer((req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  });
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  const bound = await listen(server, {
    port: config.port,
    host: config.host,
    portVariable: 'PORT',
    hostVariable: 'HOST',
    onError: (err) => logger.warn({ err }, 'listener error'),
  });
  let exporter: MetricsServer | undefined;
  let lock: DataDirLock | undefined;
  let secretKey: Awaited<ReturnType<typeof resolveSecretKey>>;
  try {
    if (metrics && config.metrics) exporter = await serveMetrics(metrics, config.metrics, logger);
    // Only now the data dir: the secret key may be generated into it.
    lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, { shownAs: config.dataDirAsGiven, logger });
    secretKey = await resolveSecretKey(config);
  } catch (err) {
    lock?.release();
    await exporter?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  if (secretKey.source === 'generated')
    logger.info({ dataDir: config.dataDir }, 'generated LATCHKEY_SECRET_KEY and stored it in the data dir');
  const urls = reachableUrls(bound);
  const url = urls[0]!;
  logger.info({ address: addressOf(bound), url, ...(urls.length > 1 ? { urls } : {}) }, 'listening');
  if (exporter) logger.info({ url: exporter.url }, 'metrics listening');

  const ready = (async () => {
    opened = await openDatabase(config, logger, { signal: aborter.signal });
    const db = opened.database;
    const applied = await db.withClient((client) => migrate(client, migrations));
    logger.info(
      { applied, total: migrations.length },
      applied.length ? 'migrations applied' : 'database schema up to date',
    );
    if (config.admin) {
      const created = await bootstrapFirstOwner(changes(db.db), {
        email: config.admin.email,
        passwordHash: await hashPassword(config.admin.password, config.bcryptRounds),
        organization: config.admin.organization,
        settings: config.defaultOrgSettings,
      });
      if (created)
        logger.info(
          { userId: created.user.id, organizationId: created.organization.id },
          'created the first organization and its owner',
        );
    }
    composed = await compose({
      config,
      logger,
      database: db,
      embedded: opened.embedded,
      secretKey: secretKey.value,
      signal: aborter.signal,
    });
    services = composed.services;
    const notice = await setupNotice(services.db, services.tags, {
      issuer: config.issuer,
      embedded: opened.embedded,
    });
    if (notice) logger.info(notice);
    logger.info({ db: describeUrl(db.url) }, 'ready');
  })();
  // Callers await `ready`; this keeps an early failure from being an unhandled rejection meanwhile.
  ready.catch(() => undefined);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      draining = true;
      aborter.abort();
      // Event streams never end by themselves: end them now, so their connections drain.
      services?.events.close();
      await sleep(DRAIN_WINDOW_MS);
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
      await exporter?.close();
      await ready.catch(() => undefined);
      await composed?.close();
      await opened?.close();
      lock?.release();
      services = undefined;
      logger.info('stopped');
    })());

  return { url, ready, stop };
}
