/**
 * The process's connection to Postgres: one pg pool, shared by Prisma (through the Rust-free
 * `@prisma/adapter-pg`) and by the few things Prisma cannot do (advisory locks, migrations).
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolClient } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { handleOf, type Db } from './handle';
import { ProcessError } from '../process-errors';

export { PrismaClient };

export class DatabaseUnavailableError extends ProcessError {
  readonly code = 'database_unavailable';
  override readonly name = 'DatabaseUnavailableError';
}

export interface ConnectOptions {
  readonly poolSize: number;
  /** Keep retrying (with backoff) for this long before giving up. */
  readonly connectTimeoutSeconds: number;
  /** A statement with no reply for this long gives up and drops its connection (default 15). */
  readonly queryTimeoutSeconds?: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** Where a connection string points, with any password left out, for logs. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/**
 * A connection whose statement got no reply within `query_timeout` may be dead without a FIN
 * or RST (a partition, a NAT's dropped state): pg gives up on the statement but keeps the
 * connection, with the statement still in flight, so everything after it would queue behind
 * it forever. Destroying its socket makes the pool drop it and open a fresh one.
 */
function dropOnReadTimeout(client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const drop = (err: unknown) => {
    if ((err as Error | undefined)?.message === 'Query read timeout')
      (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
  };
  (client as unknown as { query: typeof query }).query = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => (drop(err), callback(err, result));
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.catch(drop);
    return result;
  };
}

export class Database {
  /** Round trips so far: each statement or transaction checks a connection out of the pool. */
  roundTrips = 0;
  /** The pool as the other rooms hold it: only stores can query through it. */
  readonly db: Db;

  private constructor(
    /** The connection string (may hold a password: log {@link describeUrl} of it, never it). */
    readonly url: string,
    readonly pool: Pool,
    readonly prisma: PrismaClient,
  ) {
    this.db = handleOf(prisma);
  }

  /** Connects, retrying with exponential backoff (250 ms doubling to 5 s) until the deadline. */
  static async connect(url: string, options: ConnectOptions): Promise<Database> {
    const { logger, signal } = options;
    const deadline = Date.now() + options.connectTimeoutSeconds * 1000;
    const pool = new Pool({
      connectionString: url,
      max: options.poolSize,
      // Also how long a request waits for a free connection: a 503 soon rather than a hang.
      connectionTimeoutMillis: 2_000,
      idleTimeoutMillis: 30_000,
      query_timeout: (options.queryTimeoutSeconds ?? 15) * 1000,
      keepAlive: true,
      application_name: 'latchkey',
    });
    pool.on('connect', dropOnReadTimeout);
    // An idle client whose server went away emits here; without a listener that kills the process.
    pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'database connection lost'));
    for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
      try {
        await pool.query('SELECT 1');
        break;
      } catch (err) {
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) {
          await pool.end().catch(() => undefined);
          throw new DatabaseUnavailableError(
            `database at ${describeUrl(url)} unreachable after ${attempt} attempts: ${(err as Error).message}`,
            { cause: err },
          );
        }
        logger.warn(
          { attempt, retryInMs: Math.min(delay, left), db: describeUrl(url), reason: (err as Error).message },
          'database not reachable yet; retrying',
        );
        await sleep(Math.min(delay, left), undefined, { signal }).catch(() => undefined);
      }
    }
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    const database = new Database(url, pool, prisma);
    pool.on('acquire', () => void database.roundTrips++);
    return database;
  }

  /** Runs `fn` on one dedicated connection (session-level state: advisory locks, LISTEN). */
  async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection that breaks meanwhile emits 'error'; unheard, that would end the process.
    const onError = () => undefined;
    client.on('error', onError);
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      failure = err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      // Released with the error, a possibly broken connection leaves the pool instead of returning to it.
      client.release(failure);
    }
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
    await this.pool.end();
  }
}
