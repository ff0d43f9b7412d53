/**
 * pino, configured so a credential cannot reach a log line: request logs are built from an
 * allow-list (method, path without query, status, duration, request id), and the redact list
 * below is a second fence for anything logged by hand.
 */
import pino, { type Logger } from 'pino';

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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'latchkey' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination,
  );
}
