/**
 * The configured database, embedded or external, connected: shared by `serve` and the CLI.
 * With the embedded one the caller already holds the data dir (`lockDataDir`), before anything
 * else touches it.
 */
import type { Config } from '../config';
import type { Logger } from '../logger';
import { Database, describeUrl } from './database';
import { startEmbedded } from './embedded';

export interface OpenDatabase {
  readonly database: Database;
  /** PGlite in this process: one connection, one process. */
  readonly embedded: boolean;
  /** Closes the pool, then the embedded database if there is one. */
  close(): Promise<void>;
}

export async function openDatabase(
  config: Config,
  logger: Logger,
  options: { poolSize?: number; signal?: AbortSignal } = {},
): Promise<OpenDatabase> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbedded(config.dataDir, {
        port: config.db.embeddedPort,
        sharedBuffersMb: config.db.embeddedSharedBuffersMb,
      });
  if (embedded)
    logger.info(
      { dataDir: embedded.dataDir, db: describeUrl(embedded.url), created: embedded.created },
      'embedded database (PGlite) started',
    );
  try {
    const database = await Database.connect(config.databaseUrl ?? embedded!.url, {
      // PGlite serves one connection at a time.
      poolSize: embedded ? 1 : (options.poolSize ?? config.db.poolSize),
      connectTimeoutSeconds: config.db.connectTimeoutSeconds,
      queryTimeoutSeconds: config.db.queryTimeoutSeconds,
      logger,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      database,
      embedded: embedded !== undefined,
      async close() {
        await database.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
