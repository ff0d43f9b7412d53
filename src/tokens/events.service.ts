/**
 * The revocation stream (`GET /api/token/events`): what a resource server that verifies access
 * tokens locally (JWKS) must hear at once to refuse what Latchkey refuses. The log is
 * `token_events`, written by database triggers in the transaction of each change, in commit
 * order, and kept for TOKEN_EVENT_RETENTION_SECONDS (src/limits.ts: every access token issued before
 * an older event has expired). Streams read it by cursor (the SSE event id), so a stream
 * resumes exactly where it stopped, on any instance; the change feed only wakes them.
 *
 * The hub holds no events: each stream holds its cursor, and reads a bounded batch when woken.
 */
import type { Context } from '../context';
import { fail } from '../errors';
import { readEvents, readLogBounds, type TokenEventRow } from './events.store';

/** What the log carries; see the token_events migration for what writes each. */
export type TokenEventType =
  | 'pat_revoked'
  | 'user_deactivated'
  | 'user_activated'
  | 'membership_changed'
  | 'session_ended'
  | 'policy_changed'
  | 'key_rotated'
  | 'key_retired';

/** Events read at once: a stream's memory is one batch, whatever the log holds. */
export const EVENT_BATCH = 200;

/** A comment goes out this often on every stream, so proxies and load balancers keep it open. */
export const HEARTBEAT_MS = 15_000;

/** Where a stream starts: after `cursor`; `reset` says why the client's own cursor could not be used. */
export interface StartingPoint {
  readonly cursor: bigint;
  readonly reset?: 'unknown_event_id' | 'event_id_pruned';
}

const EVENT_ID = /^\d{1,19}$/;

/**
 * A stream with no Last-Event-ID replays the whole retained log: a new subscriber learns every
 * revocation that can still matter. A known id resumes after it. An id this log cannot vouch
 * for (not one it issued, or older than its oldest row) is a reset: the client must drop what
 * it holds, and gets the whole retained log instead.
 */
export async function startingPoint(ctx: Context, lastEventId: string | undefined): Promise<StartingPoint> {
  const given = lastEventId?.trim();
  if (!given) return { cursor: 0n };
  if (!EVENT_ID.test(given)) return { cursor: 0n, reset: 'unknown_event_id' };
  const last = BigInt(given);
  const { oldest, issued } = await readLogBounds(ctx.db);
  if (last > (issued ?? 0n)) return { cursor: 0n, reset: 'unknown_event_id' };
  // Every id between the client's and the oldest kept was pruned (or never committed: a reset
  // too many is safe, a missed event is not).
  const pruned = oldest === null ? last < (issued ?? 0n) : last < oldest - 1n;
  return pruned ? { cursor: 0n, reset: 'event_id_pruned' } : { cursor: last };
}

export interface TokenEvent {
  readonly id: bigint;
  readonly type: string;
  /** The event's own fields, and `at`: when it was written (ISO 8601). */
  readonly data: Record<string, unknown>;
}

const eventOf = (row: TokenEventRow): TokenEvent => ({
  id: row.id,
  type: row.type,
  data: { ...row.data, at: row.created_at.toISOString() },
});

/**
 * The next events of `organizationId` after `cursor`, and the cursor after them: past every id
 * the read saw when it saw the end of the log (ids are in commit order, so none can appear
 * below it later).
 */
export async function nextEvents(
  ctx: Context,
  organizationId: number,
  cursor: bigint,
): Promise<{ events: TokenEvent[]; cursor: bigint; more: boolean }> {
  const { rows, head } = await readEvents(ctx.db, organizationId, cursor, EVENT_BATCH);
  const events = rows.map(eventOf);
  const more = rows.length === EVENT_BATCH;
  const last = events.at(-1)?.id ?? cursor;
  return { events, cursor: !more && head !== null && head > last ? head : last, more };
}

/** Why a stream ended: the client left, the server stops, its credential expired, or it fell behind. */
export type EndReason = 'client_gone' | 'server_stopping' | 'credential_expired' | 'slow_consumer' | 'error';

/**
 * One open stream, as the hub sees it: an organization, a flag for "there may be new events",
 * one for "a heartbeat is due", and a way to end it. It buffers nothing.
 */
export class EventSubscription {
  #pending = true;
  #beat = false;
  #ended: EndReason | undefined;
  #signal: (() => void) | undefined;
  readonly #onEnd: (subscription: EventSubscription) => void;
  readonly #endListeners: ((reason: EndReason) => void)[] = [];

  constructor(
    readonly organizationId: number,
    onEnd: (subscription: EventSubscription) => void,
  ) {
    this.#onEnd = onEnd;
  }

  /** There may be new events for it. */
  wake(): void {
    this.#pending = true;
    this.#signal?.();
  }

  /** A heartbeat is due. */
  beat(): void {
    this.#beat = true;
    this.#signal?.();
  }

  get ended(): EndReason | undefined {
    return this.#ended;
  }

  end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    this.#onEnd(this);
    this.#signal?.();
    for (const listener of this.#endListeners.splice(0)) listener(reason);
  }

  onEnd(listener: (reason: EndReason) => void): void {
    if (this.#ended) listener(this.#ended);
    else this.#endListeners.push(listener);
  }

  /** Waits for something to do: read the log, send a heartbeat, or stop. */
  async next(): Promise<'read' | 'beat' | 'end'> {
    for (;;) {
      if (this.#ended) return 'end';
      if (this.#pending) {
        this.#pending = false;
        return 'read';
      }
      if (this.#beat) {
        this.#beat = false;
        return 'beat';
      }
      await new Promise<void>((resolve) => (this.#signal = resolve));
      this.#signal = undefined;
    }
  }
}

/**
 * The streams this instance serves, at most `max` (LATCHKEY_EVENT_STREAMS_MAX): the change
 * feed wakes those an event concerns, a timer asks each for a heartbeat.
 */
export class TokenEventHub {
  readonly #streams = new Set<EventSubscription>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  /** The newest event id the feed announced: a stream behind it may move its cursor on. */
  #latest = 0n;

  constructor(
    readonly max: number,
    heartbeatMs = HEARTBEAT_MS,
  ) {
    this.#timer = setInterval(() => {
      for (const stream of this.#streams) stream.beat();
    }, heartbeatMs).unref();
  }

  /** Open streams. */
  get size(): number {
    return this.#streams.size;
  }

  get latest(): bigint {
    return this.#latest;
  }

  /** A stream for `organizationId`; 503 `stream_limit_reached` beyond the bound, or once stopping. */
  subscribe(organizationId: number): EventSubscription {
    if (this.#closed || this.#streams.size >= this.max) throw fail('stream_limit_reached');
    const subscription = new EventSubscription(organizationId, (s) => this.#streams.delete(s));
    this.#streams.add(subscription);
    return subscription;
  }

  /** An event was committed (the change feed says): wake the streams it concerns. */
  announce(id: bigint, organizationId: number | null): void {
    if (id > this.#latest) this.#latest = id;
    for (const stream of this.#streams)
      if (organizationId === null || stream.organizationId === organizationId) stream.wake();
  }

  /** The feed listens again after a gap: any stream may have missed a wake. */
  wakeAll(): void {
    for (const stream of this.#streams) stream.wake();
  }

  /** Ends every stream and admits no more (the server stops). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const stream of [...this.#streams]) stream.end('server_stopping');
  }
}
