/**
 * The one place that decides what an error looks like on the wire.
 *
 * Every non-2xx answer is `{id, status_code, code, detail}` (+ `validation_errors` on 400s),
 * with the request id also in `X-Request-Id`, and every 401 carries an RFC 6750 / RFC 7235
 * challenge. `code` is stable: tests and clients match on it, never on `detail`.
 */
import type { Request, Response } from 'express';

/** The catalogue of public error codes. Add here first; nothing else may invent one. */
export type ErrorCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'malformed_body'
  | 'malformed_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'validation_error'
  | 'not_authenticated'
  | 'invalid_credentials'
  | 'token_malformed'
  | 'token_invalid'
  | 'token_wrong_type'
  | 'token_expired'
  | 'token_blacklisted'
  | 'refresh_token_as_access'
  | 'token_type_disabled'
  | 'session_ended'
  | 'user_not_found'
  | 'user_inactive'
  | 'not_a_member'
  | 'csrf_failed'
  | 'permission_denied'
  | 'token_limit_reached'
  | 'already_member'
  | 'last_owner'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error';

/** How a 401 (or a Bearer 403) challenges the client: RFC 6750 §3 and RFC 7235 §4.1. */
export interface Challenge {
  readonly scheme: 'Bearer' | 'Token';
  /** RFC 6750 error code; absent when no credentials were sent. */
  readonly error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  readonly description?: string;
}

export const REALM = 'latchkey';

export interface AppErrorOptions {
  /** `validation_errors`, field → messages; 400 only. */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
  readonly challenge?: Challenge;
  /** Extra response headers (Allow, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Private: logged, never sent. */
  readonly cause?: unknown;
}

/** An error meant for the client. Anything else that reaches the serializer is a 500. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export const notFound = (detail = 'Not found.') => new AppError(404, 'not_found', detail);

export const validationError = (fields: Record<string, readonly string[]>, detail = 'Validation error') =>
  new AppError(400, 'validation_error', detail, { fields });

export const permissionDenied = (
  detail = 'You do not have permission to perform this action.',
  challenge?: Challenge,
) => new AppError(403, 'permission_denied', detail, challenge ? { challenge } : {});

export const serviceUnavailable = (detail: string, cause?: unknown) =>
  new AppError(503, 'service_unavailable', detail, { cause, headers: { 'Retry-After': '1' } });

function quote(value: string): string {
  // RFC 7230 quoted-string; descriptions are ours, but never trust a string into a header.
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;
}

export function renderChallenge(challenge: Challenge): string {
  let header = `${challenge.scheme} realm=${quote(REALM)}`;
  if (challenge.error) header += `, error=${quote(challenge.error)}`;
  if (challenge.error && challenge.description) header += `, error_description=${quote(challenge.description)}`;
  return header;
}

/** Maps the errors Express's body parsers throw (they carry `type`) onto the contract. */
function fromBodyParser(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err) || typeof err.type !== 'string') return undefined;
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'malformed_body', 'JSON parse error: the request body is not valid JSON.', {
        cause: err,
      });
    case 'entity.too.large':
      return new AppError(413, 'payload_too_large', 'Request body is larger than 16 KiB.', { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_media_type', 'Unsupported content encoding or charset.', { cause: err });
    case 'parameters.too.many':
      return new AppError(413, 'payload_too_large', 'Too many form parameters.', { cause: err });
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError(400, 'malformed_body', 'The request body was incomplete.', { cause: err });
    default:
      return undefined;
  }
}

/**
 * Maps the router's failure to decode a path parameter (`/api/token/%ff`: a URIError it marks
 * 400) onto the contract. The raw value stays out of the detail.
 */
function fromRouter(err: unknown): AppError | undefined {
  if (!(err instanceof URIError) || (err as { status?: unknown }).status !== 400) return undefined;
  return new AppError(400, 'malformed_request', 'The request path has a malformed percent-escape.', { cause: err });
}

/**
 * Codes that mean the database cannot be reached or did not answer in time. Prisma: can't
 * reach (P1001), timed out (P1002, P1008), connection closed (P1017), pool timeout (P2024), an
 * interactive transaction that expired or could not start in time (P2028). Postgres: admin or
 * crash shutdown, cannot connect now (57P0x), too many connections (53300), connection
 * exceptions (class 08). Node: the socket errors.
 */
const UNAVAILABLE_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'P2028',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** The same, as Prisma's driver adapter names them (`meta.driverAdapterError.cause.kind`, e.g. under a raw query's P2010). */
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** pg and pg-pool errors that carry no code, known by their fixed wording. */
const UNAVAILABLE_MESSAGE =
  /(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable|Can't reach database server)/;

const isUnavailableCode = (code: unknown) =>
  typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'));

/** True when `err` (or a cause of it) says the database cannot be reached: a 503, not a 500. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err, depth = 0;
    typeof e === 'object' && e !== null && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const { code, meta, message } = e as {
      code?: unknown;
      meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } };
      message?: unknown;
    };
    if (isUnavailableCode(code)) return true;
    const adapter = meta?.driverAdapterError?.cause;
    if (adapter && (UNAVAILABLE_KINDS.has(String(adapter.kind)) || isUnavailableCode(adapter.code))) return true;
    if (code === undefined && typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  }
  return false;
}

/** Normalizes anything thrown into an AppError; unknown errors become an opaque 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return serviceUnavailable('The database is unreachable; try again shortly.', err);
  return (
    fromBodyParser(err) ??
    fromRouter(err) ??
    new AppError(500, 'internal_error', 'Internal server error.', { cause: err })
  );
}

/** Writes `err` as the contract's error body. The only function that sends an error. */
export function sendError(req: Request, res: Response, err: AppError): void {
  const body: Record<string, unknown> = { id: req.id, status_code: err.status, code: err.code, detail: err.detail };
  if (err.status === 400 && err.options.fields) body.validation_errors = err.options.fields;
  for (const [name, value] of Object.entries(err.options.headers ?? {})) res.setHeader(name, value);
  if (err.status === 401)
    res.setHeader('WWW-Authenticate', renderChallenge(err.options.challenge ?? { scheme: 'Bearer' }));
  else if (err.status === 403 && err.options.challenge)
    res.setHeader('WWW-Authenticate', renderChallenge(err.options.challenge));
  res.status(err.status).json(body);
}
