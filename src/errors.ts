/**
 * The one place that decides what an error looks like on the wire.
 *
 * Every non-2xx answer is `{id, status_code, code, detail}` (+ `validation_errors` on 400s),
 * with the request id also in `X-Request-Id`, and every 401 carries an RFC 6750 / RFC 7235
 * challenge. `code` is stable: tests and clients match on it, never on `detail`. The one
 * exception is the standard OAuth endpoints, whose RFCs fix another shape: see
 * {@link sendError}.
 *
 * A client error is raised only by {@link fail}, which takes its status, default detail and
 * challenge from {@link ERRORS}: a call site chooses the code and, at most, better words.
 */
import type { Request, Response } from 'express';

/** RFC 6750 §3.1's error codes, for a Bearer challenge. */
type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * The error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1 that the standard OAuth endpoints
 * (`/oauth/token`, `/oauth/revoke`) answer with; see {@link sendOAuthError}.
 */
type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable';

interface CatalogueEntry {
  readonly status: number;
  readonly detail: string;
  /** The RFC 6750 error a Bearer challenge names (401s, and 403s answered to a Bearer token). */
  readonly bearerError?: BearerError;
  /** The code sent, when it is not the entry's own name (see `token_creation_disabled`). */
  readonly wireCode?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Raised only by the standard OAuth endpoints: the RFC 6749 / RFC 7009 error it is. */
  readonly oauthError?: OAuthError;
}

/**
 * The catalogue of errors a client may see: one entry per code, so a code has one status.
 * Add here first; nothing else may invent one.
 */
export const ERRORS = {
  not_found: { status: 404, detail: 'Not found.' },
  method_not_allowed: { status: 405, detail: 'Method not allowed.' },
  malformed_body: { status: 400, detail: 'JSON parse error: the request body is not valid JSON.' },
  malformed_request: { status: 400, detail: 'The request path has a malformed percent-escape.' },
  payload_too_large: { status: 413, detail: 'Request body is larger than 16 KiB.' },
  unsupported_media_type: { status: 415, detail: 'Unsupported media type in request.' },
  validation_error: { status: 400, detail: 'Validation error' },
  not_authenticated: { status: 401, detail: 'Authentication credentials were not provided.' },
  invalid_credentials: { status: 401, detail: 'Invalid email or password.' },
  token_malformed: { status: 401, detail: 'Token is invalid', bearerError: 'invalid_token' },
  token_invalid: { status: 401, detail: 'Token is invalid', bearerError: 'invalid_token' },
  token_wrong_type: { status: 401, detail: 'Token has wrong type', bearerError: 'invalid_token' },
  token_expired: { status: 401, detail: 'Token is expired', bearerError: 'invalid_token' },
  token_blacklisted: { status: 401, detail: 'Token is blacklisted', bearerError: 'invalid_token' },
  refresh_token_as_access: {
    status: 401,
    detail:
      'This is a personal access token (a refresh token), not an access token. Exchange it for an access token at POST /api/token/refresh with {"refresh": "<token>"} and send that as the Bearer token.',
    bearerError: 'invalid_token',
  },
  /** A token of a type the organization has switched off, presented: authentication fails. */
  token_type_disabled: {
    status: 401,
    detail: 'Personal access tokens are disabled for this organization.',
    bearerError: 'invalid_token',
  },
  /**
   * A new token of a type the organization has switched off, asked for (PAT creation and
   * rotation, legacy reset): the caller is known but may not. The contract names this 403
   * `token_type_disabled` as well, so it is its own entry that sends the same code.
   */
  token_creation_disabled: {
    status: 403,
    detail: 'Personal access tokens are disabled for this organization.',
    bearerError: 'insufficient_scope',
    wireCode: 'token_type_disabled',
  },
  session_ended: {
    status: 401,
    detail: 'Your session has expired or ended; log in again.',
    bearerError: 'invalid_token',
  },
  user_not_found: { status: 401, detail: 'User not found', bearerError: 'invalid_token' },
  user_inactive: { status: 401, detail: 'User is inactive', bearerError: 'invalid_token' },
  not_a_member: {
    status: 401,
    detail: 'User is no longer a member of the organization this token was issued for',
    bearerError: 'invalid_token',
  },
  csrf_failed: { status: 403, detail: 'CSRF Failed: CSRF token missing or incorrect.' },
  permission_denied: {
    status: 403,
    detail: 'You do not have permission to perform this action.',
    bearerError: 'insufficient_scope',
  },
  token_limit_reached: { status: 409, detail: 'Personal access token limit reached; delete one first.' },
  already_member: { status: 409, detail: 'Already a member of this organization, or invited to it.' },
  already_set_up: { status: 409, detail: 'This server already has its first owner: log in instead.' },
  last_owner: { status: 400, detail: 'An organization must keep at least one owner.' },
  rate_limited: { status: 429, detail: 'Too many requests; try again later.' },
  service_unavailable: {
    status: 503,
    detail: 'The database is unreachable; try again shortly.',
    headers: { 'Retry-After': '1' },
  },
  internal_error: { status: 500, detail: 'Internal server error.' },
  stream_limit_reached: {
    status: 503,
    detail: 'This instance serves as many event streams as it may (LATCHKEY_EVENT_STREAMS_MAX); try again later.',
    headers: { 'Retry-After': '5' },
  },
  // The standard OAuth endpoints' own refusals (RFC 6749 §5.2, RFC 7009 §2.2.1), sent in that
  // shape by sendOAuthError. Their names are the RFCs' codes.
  invalid_request: {
    status: 400,
    detail: 'The request is missing a parameter or is otherwise malformed.',
    oauthError: 'invalid_request',
  },
  invalid_client: {
    status: 401,
    detail: 'Client authentication is not supported: every client is public (token_endpoint_auth_method "none").',
    oauthError: 'invalid_client',
  },
  invalid_grant: { status: 400, detail: 'The refresh token is invalid.', oauthError: 'invalid_grant' },
  unsupported_grant_type: {
    status: 400,
    detail: 'The only grant type supported is refresh_token.',
    oauthError: 'unsupported_grant_type',
  },
  invalid_scope: {
    status: 400,
    detail: 'Latchkey has no scopes: a refresh grant asks for none.',
    oauthError: 'invalid_scope',
  },
  unsupported_token_type: {
    status: 400,
    detail:
      'An access token cannot be revoked alone; revoke the personal access token it came from, or log out of its session.',
    oauthError: 'unsupported_token_type',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

const entry = (code: ErrorCode): CatalogueEntry => ERRORS[code];

/** The code a client sees for `code`. */
export const wireCode = (code: ErrorCode): string => entry(code).wireCode ?? code;

export const REALM = 'latchkey';

export interface FailOptions {
  /** Replaces the catalogue's detail; for a 5xx, our words only (it is sent). */
  readonly detail?: string;
  /** Private: logged, never sent. */
  readonly cause?: unknown;
  /** `validation_errors`, field → messages; 400 only. */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
  /** Extra response headers (Allow, Retry-After), over the catalogue's. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error meant for the client; its status comes from the catalogue entry its code names.
 * Anything else that reaches the serializer is a 500.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  readonly detail: string;
  readonly options: Omit<FailOptions, 'detail'>;

  constructor(
    readonly code: ErrorCode,
    { detail, ...options }: FailOptions = {},
  ) {
    const { status, detail: fallback, headers } = entry(code);
    super(detail ?? fallback, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.detail = detail ?? fallback;
    this.options = headers ? { ...options, headers: { ...headers, ...options.headers } } : options;
  }
}

/** The error for `code`, to throw (or pass to `next`): the only way to raise a client error. */
export const fail = (code: ErrorCode, options?: FailOptions): AppError => new AppError(code, options);

/**
 * The credential a request presented, as the resolver (`authenticate`) found it before checking
 * it; an error is challenged in its scheme (RFC 7235 §4.1). Unset when no resolver looked: a
 * refresh or login carries its credential in the body, and is answered as Bearer.
 */
export type CredentialScheme = 'Bearer' | 'Token' | 'Session';

declare module 'express-serve-static-core' {
  interface Request {
    credentialScheme?: CredentialScheme;
  }
}

function quote(value: string): string {
  // RFC 7230 quoted-string; descriptions are ours, but never trust a string into a header.
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;
}

/**
 * `WWW-Authenticate` for `err`, or undefined. Every 401 is challenged, in the scheme of the
 * credential sent: a legacy token gets Django REST framework's bare `Token` challenge, anything
 * else Bearer, naming its RFC 6750 error unless the credential was a session cookie (not a
 * token, so no token error applies). A 403 is challenged only when a Bearer token was used
 * (`insufficient_scope`). Only a 401 carries `error_description`: a forward-auth proxy passes
 * the header on and nothing else, and it answers 401s only.
 */
export function challengeFor(credential: CredentialScheme | undefined, err: AppError): string | undefined {
  const { bearerError } = entry(err.code);
  if (err.status === 401) {
    if (credential === 'Token') return `Token realm=${quote(REALM)}`;
    const error = credential === 'Session' ? undefined : bearerError;
    return error
      ? `Bearer realm=${quote(REALM)}, error=${quote(error)}, error_description=${quote(err.detail)}`
      : `Bearer realm=${quote(REALM)}`;
  }
  if (err.status === 403 && credential === 'Bearer' && bearerError)
    return `Bearer realm=${quote(REALM)}, error=${quote(bearerError)}`;
  return undefined;
}

/** Maps the errors Express's body parsers throw (they carry `type`) onto the contract. */
function fromBodyParser(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err) || typeof err.type !== 'string') return undefined;
  switch (err.type) {
    case 'entity.parse.failed':
      return fail('malformed_body', { cause: err });
    case 'entity.too.large':
      return fail('payload_too_large', { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return fail('unsupported_media_type', { detail: 'Unsupported content encoding or charset.', cause: err });
    case 'parameters.too.many':
      return fail('payload_too_large', { detail: 'Too many form parameters.', cause: err });
    case 'request.aborted':
    case 'request.size.invalid':
      return fail('malformed_body', { detail: 'The request body was incomplete.', cause: err });
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
  return fail('malformed_request', { cause: err });
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
  if (isDatabaseUnavailable(err)) return fail('service_unavailable', { cause: err });
  return fromBodyParser(err) ?? fromRouter(err) ?? fail('internal_error', { cause: err });
}

/**
 * Which shape a request's errors take: the contract's (`{id, status_code, code, detail}`) or,
 * at the standard OAuth endpoints, RFC 6749 §5.2's (`{error, error_description}`). Those set it
 * first thing, before reading their body, so that every error they answer is in their shape.
 */
export type ErrorFormat = 'contract' | 'oauth';

declare module 'express-serve-static-core' {
  interface Request {
    errorFormat?: ErrorFormat;
  }
}

/**
 * The RFC 6749 §5.2 status and error code for `err`. The OAuth endpoints raise their own codes;
 * anything else they meet on the way (a body too large or undecodable, a wrong method) is an
 * `invalid_request`, 400 as §5.2 says (a 405 keeps its status, for its `Allow`), and a 5xx is
 * `server_error` or, when the database is out of reach, `temporarily_unavailable`.
 */
function oauthErrorFor(err: AppError): { status: number; error: OAuthError } {
  const own = entry(err.code).oauthError;
  if (own) return { status: err.status, error: own };
  if (err.status >= 500)
    return {
      status: err.status,
      error: err.code === 'service_unavailable' ? 'temporarily_unavailable' : 'server_error',
    };
  return { status: err.status === 405 ? 405 : 400, error: 'invalid_request' };
}

/**
 * Writes `err` as RFC 6749 §5.2 says: `{"error", "error_description"}`, never cached. A 401
 * (`invalid_client`) is challenged with `Basic`, the scheme a client authenticates with (§5.2).
 */
function sendOAuthError(res: Response, err: AppError): void {
  const { status, error } = oauthErrorFor(err);
  for (const [name, value] of Object.entries(err.options.headers ?? {})) res.setHeader(name, value);
  if (status === 401) res.setHeader('WWW-Authenticate', `Basic realm=${quote(REALM)}`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.status(status).json({ error, error_description: err.detail });
}

/**
 * Writes `err` as the contract's error body, or as RFC 6749's at the OAuth endpoints (see
 * {@link ErrorFormat}). The only function that sends an error.
 */
export function sendError(req: Request, res: Response, err: AppError): void {
  if (req.errorFormat === 'oauth') {
    sendOAuthError(res, err);
    return;
  }
  const body: Record<string, unknown> = {
    id: req.id,
    status_code: err.status,
    code: wireCode(err.code),
    detail: err.detail,
  };
  if (err.status === 400 && err.options.fields) body.validation_errors = err.options.fields;
  for (const [name, value] of Object.entries(err.options.headers ?? {})) res.setHeader(name, value);
  const challenge = challengeFor(req.credentialScheme, err);
  if (challenge) res.setHeader('WWW-Authenticate', challenge);
  res.status(err.status).json(body);
}
