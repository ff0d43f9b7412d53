/**
 * A Server-Sent Events parser (the WHATWG HTML "event stream interpretation"), over a fetch
 * Response body: web streams only, so it runs wherever fetch does.
 */

export interface ServerSentEvent {
  /** `message` when the stream named none. */
  readonly type: string;
  readonly data: string;
  /** The last event ID after this event (the stream's `id:` fields so far). */
  readonly lastEventId: string;
}

/** What a stream says besides events. */
export interface EventStreamHandlers {
  onEvent(event: ServerSentEvent): void;
  /** Any bytes arrived (an event, a comment heartbeat, an id): the connection is alive. */
  onActivity?(): void;
  /** A `retry:` field: the reconnection delay the server asks for, in milliseconds. */
  onRetry?(ms: number): void;
  /** The last event ID changed without an event (an `id:` line on its own). */
  onLastEventId?(id: string): void;
}

/**
 * Reads `body` to its end, calling the handlers as it goes; resolves with the last event ID
 * when the stream ends, rejects when reading fails. `lastEventId` is where the stream started.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  handlers: EventStreamHandlers,
  lastEventId = '',
): Promise<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  let data: string[] = [];
  let type = '';
  let id = lastEventId;
  let idBuffer = lastEventId;
  const field = (line: string) => {
    if (line === '') {
      const changed = idBuffer !== id;
      id = idBuffer;
      if (data.length) handlers.onEvent({ type: type || 'message', data: data.join('\n'), lastEventId: id });
      else if (changed) handlers.onLastEventId?.(id);
      data = [];
      type = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'event') type = value;
    else if (name === 'id' && !value.includes('\0')) idBuffer = value;
    else if (name === 'retry' && /^\d+$/.test(value)) handlers.onRetry?.(Number(value));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return id;
    handlers.onActivity?.();
    pending += value;
    // A \r at the end may be the first half of a \r\n: keep it for the next chunk.
    const cut = pending.endsWith('\r') ? pending.length - 1 : pending.length;
    const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
    pending = lines.pop()! + pending.slice(cut);
    for (const line of lines) field(line);
  }
}
