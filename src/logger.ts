/**
 * pino, configured so a credential cannot reach a log line: request logs are built from an
 * allow-list (method, path without query, status, duration, request id), and the redact list
 * below is a second fence for anything logged by hand.
 *
 * Lines are JSON for a log collector, or made readable by pino-pretty for a person at a
 * terminal (`LOG_FORMAT`; by default, whichever suits where the log goes).
 */
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

export const REDACTED_PATHS = [
  'authorization',
  'password',
  'token',
  'refresh',
  'access',
  'secret',
  'cookie',
  '*.authorization',
  '*.password',
  '*.token',
  '*.refresh',
  '*.access',
  '*.secret',
  '*.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["x-csrftoken"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers["x-csrftoken"]',
];

/** `json`: one JSON object a line. `pretty`: one readable line (time, level, message, fields). */
export type LogFormat = 'pretty' | 'json';

/** The format asked for (LOG_FORMAT), else pretty for a terminal and JSON for anything else. */
export function logFormatFor(asked: LogFormat | undefined, stream: { readonly isTTY?: boolean }): LogFormat {
  return asked ?? (stream.isTTY ? 'pretty' : 'json');
}

/**
 * Writes each line pino makes to `stream`, made readable. Synchronous, in this thread (not
 * pino's transport worker): a line logged just before the process exits is not lost, and no
 * thread is paid for.
 */
function prettyDestination(stream: NodeJS.WriteStream): pino.DestinationStream {
  const pretty = prettyFactory({
    colorize: stream.isTTY === true && stream.hasColors(),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  return { write: (line: string) => void stream.write(pretty(line)) };
}

/**
 * The process's logger, writing to stdout (the server) or stderr (a one-shot command, whose
 * stdout is its answer), in `format` or the one that suits that stream.
 */
export function processLogger(level: string, format: LogFormat | undefined, to: 'stdout' | 'stderr'): Logger {
  const stream = process[to];
  if (logFormatFor(format, stream) === 'pretty') return createLogger(level, prettyDestination(stream));
  // pino's own destination for stdout (fd 1, written synchronously).
  return createLogger(level, to === 'stdout' ? undefined : stream);
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'latchkey' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination,
  );
}
