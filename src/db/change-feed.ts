/**
 * The `latchkey_changes` notifications (see the change_notifications migration), delivered to
 * a handler. With an external Postgres, one dedicated connection LISTENs; if it drops, the
 * feed reconnects with backoff and reports the gap, because changes made meanwhile were missed
 * (the owner reloads). The embedded database serves one connection, through which every write
 * of this process passes: there, each pooled connection LISTENs and nothing can be missed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Pool, type PoolClient } from 'pg';
import type { Logger } from '../logger';

export const CHANNEL = 'latchkey_changes';

export interface Change {
  readonly table: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly row: Record<string, unknown>;
}

export interface ChangeFeedHandlers {
  /** One change, in commit order. */
  onChange(change: Change): void;
  /** Listening (again): changes before this moment may have been missed; reload. */
  onListening(): Promise<void>;
  /** The connection is lost; changes are being missed from now until onListening. */
  onLost(): void;
}

function parse(payload: string | undefined): Change | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Change;
    return typeof change.table === 'string' && typeof change.row === 'object' ? change : undefined;
  } catch {
    return undefined;
  }
}

export interface ChangeFeed {
  close(): Promise<void>;
}

/** A dedicated LISTEN connection that comes back by itself. */
export function listenExternal(url: string, handlers: ChangeFeedHandlers, logger: Logger): ChangeFeed {
  let closed = false;
  let current: Client | undefined;
  const wake = new AbortController();

  const run = async () => {
    for (let delay = 100; !closed; delay = Math.min(delay * 2, 2_000)) {
      const c = new Client({ connectionString: url, application_name: 'latchkey-listen', connectionTimeoutMillis: 2_000, keepAlive: true });
      current = c;
      const lost = new Promise<void>((resolve) => {
        c.on('error', () => resolve());
        c.on('end', () => resolve());
      });
      try {
        await c.connect();
        c.on('notification', (message) => {
          const change = message.channel === CHANNEL ? parse(message.payload) : undefined;
          if (change) handlers.onChange(change);
        });
        await c.query(`LISTEN ${CHANNEL}`);
        if (!closed) {
          await handlers.onListening();
          delay = 100;
          await lost;
        }
      } catch (err) {
        if (!closed) logger.warn({ err: { message: (err as Error).message } }, 'change feed: cannot listen');
      }
      current = undefined;
      c.removeAllListeners('notification');
      await c.end().catch(() => undefined);
      if (closed) return;
      handlers.onLost();
      logger.warn({ retryInMs: delay }, 'change feed: connection lost; revocation state may be stale until it is back');
      await sleep(delay, undefined, { signal: wake.signal }).catch(() => undefined);
    }
  };
  const running = run();

  return {
    async close() {
      closed = true;
      wake.abort();
      await current?.end().catch(() => undefined);
      await running;
    },
  };
}

/**
 * Every pooled connection LISTENs: for the embedded database, whose single connection carries
 * every write of the only process that may open it, so no change can pass unseen.
 */
export async function listenPooled(pool: Pool, handlers: ChangeFeedHandlers): Promise<ChangeFeed> {
  const onConnect = (client: PoolClient) => {
    client.on('notification', (message) => {
      const change = message.channel === CHANNEL ? parse(message.payload) : undefined;
      if (change) handlers.onChange(change);
    });
    // Queued ahead of whatever query the connection was opened for.
    return client.query(`LISTEN ${CHANNEL}`);
  };
  pool.on('connect', (client) => void onConnect(client).catch(() => undefined));
  // The connection opened before this feed existed.
  const existing = await pool.connect();
  try {
    await onConnect(existing);
  } finally {
    existing.release();
  }
  await handlers.onListening();
  return {
    async close() {
      pool.removeAllListeners('connect');
    },
  };
}
