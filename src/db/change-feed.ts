/**
 * The `latchkey_changes` notifications (see the change_notifications migration), delivered to
 * a handler. With an external Postgres, one dedicated connection LISTENs; if it drops or goes
 * silent, the feed reconnects with backoff and reports the gap, because changes made meanwhile
 * were missed (the owner stops trusting what it cached). The embedded database serves one connection, through which every write
 * of this process passes: there, each pooled connection LISTENs and nothing can be missed.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Pool, type PoolClient } from 'pg';
import type { Logger } from '../logger';

export const CHANNEL = 'latchkey_changes';

export interface Change {
  readonly table: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';
  readonly row: Record<string, unknown>;
}

export interface ChangeFeedHandlers {
  /** One change, in commit order. */
  onChange(change: Change): void;
  /** Listening (again): every change from now on will reach onChange. */
  onListening(): Promise<void>;
  /** The connection is lost; changes are being missed from now until onListening. */
  onLost(): void;
}

function parse(payload: string | undefined): Change | undefined {
  try {
    const change = JSON.parse(payload ?? '') as Change;
    const { row } = change;
    return typeof change.table === 'string' && typeof row === 'object' && row !== null && !Array.isArray(row)
      ? change
      : undefined;
  } catch {
    return undefined;
  }
}

export interface ChangeFeed {
  /** Drops the connection and listens anew (a write could not confirm the feed carries it). */
  restart(reason: string): void;
  close(): Promise<void>;
}

/** A heartbeat goes out this often on the LISTEN connection... */
const HEARTBEAT_INTERVAL_MS = 1_000;
/** ...and the connection is declared lost when nothing came back for this long. */
const HEARTBEAT_TIMEOUT_MS = 3_000;

/**
 * A dedicated LISTEN connection that comes back by itself. A connection can die without a FIN
 * or RST (a NAT or conntrack idle timeout, a partition) and TCP keepalive would notice only
 * after hours, so every second it notifies a channel of its own and expects to hear it
 * back: silence for {@link HEARTBEAT_TIMEOUT_MS} counts as lost.
 */
export function listenExternal(url: string, handlers: ChangeFeedHandlers, logger: Logger): ChangeFeed {
  let closed = false;
  // A change the handler cannot apply must not take the process down (a NOTIFY is anyone's to send).
  const deliver = (change: Change) => {
    try {
      handlers.onChange(change);
    } catch (err) {
      logger.warn(
        { err: { message: (err as Error).message }, table: change.table },
        'change feed: could not apply a notification',
      );
      current?.drop('a notification could not be applied');
    }
  };
  let current: { client: Client; drop: (reason: string) => void } | undefined;
  const wake = new AbortController();

  const run = async () => {
    for (let delay = 100; !closed; delay = Math.min(delay * 2, 2_000)) {
      const client = new Client({
        connectionString: url,
        application_name: 'latchkey-listen',
        connectionTimeoutMillis: 2_000,
        keepAlive: true,
      });
      const heartbeatChannel = `latchkey_heartbeat_${randomBytes(8).toString('hex')}`;
      let heartbeat: NodeJS.Timeout | undefined;
      const lost = new Promise<string>((resolve) => {
        client.on('error', (err) => resolve(err.message));
        client.on('end', () => resolve('connection ended'));
        current = {
          client,
          drop(reason) {
            resolve(reason);
            // The socket may carry nothing any more: end() could wait forever for a reply.
            (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
          },
        };
      });
      try {
        await client.connect();
        let heard = Date.now();
        let listening = false;
        client.on('notification', (message) => {
          heard = Date.now();
          const change = message.channel === CHANNEL ? parse(message.payload) : undefined;
          if (change) deliver(change);
        });
        // The silence check runs from the moment of connecting: a LISTEN that never returns counts too.
        let beating = false; // one heartbeat at a time: a stalled one is what the silence check is for
        heartbeat = setInterval(() => {
          if (Date.now() - heard > HEARTBEAT_TIMEOUT_MS) current?.drop(`no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`);
          else if (listening && !beating) {
            beating = true;
            const done = () => void (beating = false);
            client.query(`NOTIFY ${heartbeatChannel}`).then(done, done);
          }
        }, HEARTBEAT_INTERVAL_MS);
        await client.query(`LISTEN ${CHANNEL}; LISTEN ${heartbeatChannel}`);
        listening = true;
        heard = Date.now();
        if (!closed) {
          await handlers.onListening();
          delay = 100;
          const reason = await lost;
          if (!closed) logger.warn({ reason }, 'change feed: connection lost');
        }
      } catch (err) {
        if (!closed) logger.warn({ err: { message: (err as Error).message } }, 'change feed: cannot listen');
      }
      clearInterval(heartbeat);
      current = undefined;
      client.removeAllListeners('notification');
      (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
      if (closed) return;
      handlers.onLost();
      logger.warn({ retryInMs: delay }, 'change feed: reconnecting');
      await sleep(delay, undefined, { signal: wake.signal }).catch(() => undefined);
    }
  };
  const running = run();

  return {
    restart(reason) {
      logger.warn({ reason }, 'change feed: restarting');
      current?.drop(reason);
    },
    async close() {
      closed = true;
      wake.abort();
      current?.drop('closing');
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
    // One in-process connection carries every write: nothing can be missed, so listening again is enough.
    restart: () => void handlers.onListening().catch(() => undefined),
    close() {
      pool.removeAllListeners('connect');
      return Promise.resolve();
    },
  };
}
