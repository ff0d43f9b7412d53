/**
 * A test's client of `GET /api/token/events`: opens the stream over real HTTP, collects its
 * events as they come (parsed by the middleware package's SSE parser), and lets the test await
 * the one it expects instead of a stopwatch.
 */
import { readEventStream, type ServerSentEvent } from '../../packages/express/src/sse';
import { orTimeout } from './wait';

export interface OpenStream {
  readonly status: number;
  readonly headers: Headers;
  /** Every event so far, in order. */
  readonly events: ServerSentEvent[];
  /** The first event (from the start) that `match` accepts, once it has come. */
  next(match: (event: ServerSentEvent) => boolean, what: string): Promise<ServerSentEvent>;
  /** The last event ID the stream has given, events or `id:` lines alone. */
  lastEventId(): string;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export interface Refused {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export async function openEventStream(
  baseUrl: string,
  headers: Record<string, string>,
): Promise<(OpenStream & { ok: true }) | (Refused & { ok: false })> {
  const aborter = new AbortController();
  const res = await fetch(`${baseUrl}/api/token/events`, { headers, signal: aborter.signal });
  if (res.status !== 200 || !res.body)
    return { ok: false, status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  const events: ServerSentEvent[] = [];
  let last = headers['Last-Event-ID'] ?? '';
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  let done = false;
  const finish = () => {
    done = true;
    notify();
  };
  const ended = readEventStream(
    res.body,
    {
      onEvent(event) {
        events.push(event);
        last = event.lastEventId;
        notify();
      },
      onLastEventId(id) {
        last = id;
        notify();
      },
    },
    last,
  ).then(finish, finish);
  return {
    ok: true,
    status: res.status,
    headers: res.headers,
    events,
    lastEventId: () => last,
    ended,
    close: () => aborter.abort(),
    next(match, what) {
      const found = () => events.find(match);
      return orTimeout(
        new Promise<ServerSentEvent>((resolve, reject) => {
          const check = () => {
            const event = found();
            if (event) resolve(event);
            else if (done) reject(new Error(`the stream ended before ${what}`));
            else return;
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        }),
        () => what,
      );
    },
  };
}

/** The event's JSON data. */
export const dataOf = (event: ServerSentEvent): Record<string, unknown> => JSON.parse(event.data);
