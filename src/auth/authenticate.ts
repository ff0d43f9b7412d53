/**
 * Who is calling. One resolver serves every authenticated route:
 *
 *   X-Api-Key: <value>           replaces Authorization; JWT-shaped → Bearer, else a legacy Token
 *   Authorization: Bearer <jwt>  an access token (scheme case-insensitive)
 *   Authorization: Token <key>   a legacy token
 *   session cookie               browser session; unsafe methods also need X-CSRFToken
 *
 * A signature is checked first, so only a token Latchkey signed can cost a lookup; then the
 * PAT, session or legacy token and its holder come from the caches (see AuthState): no
 * database round trip when warm, one indexed query when cold. {@link standing} judges them.
 */
import { parse as parseCookie } from 'cookie';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context } from '../context';
import { fail, toAppError, wireCode } from '../errors';
import type { Principal } from './principal';

/**
 * How each kind of credential becomes a principal. The rooms that issue credentials supply
 * them (see compose()), so this resolver knows the header rules and nothing of tokens.
 */
export interface Verifiers {
  /** An access JWT: `Authorization: Bearer`, or a JWT-shaped `X-Api-Key`. */
  readonly access: (ctx: Context, token: string) => Promise<Principal>;
  /** A legacy key: `Authorization: Token`, or any other `X-Api-Key`. */
  readonly legacy: (ctx: Context, key: string) => Promise<Principal>;
  /** The session cookie (the request too: unsafe methods need the CSRF header). */
  readonly session: (ctx: Context, req: Request, cookie: string) => Promise<Principal>;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Three base64url segments: what X-Api-Key treats as an access token rather than a legacy key. */
export function looksLikeJwt(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 3 && parts.every((part) => SEGMENT.test(part));
}

/** The session cookie's name (a value only the session room reads). */
export const SESSION_COOKIE = 'latchkey_session';

/** One cookie's value, parsed by the `cookie` package (Express's own); undefined when absent. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookie(header)[name] : undefined;
}

/** The credential an authentication judged: the resolver's kinds, `none` when none was sent, `pat` for a refresh. */
export type AuthCredential = 'access_token' | 'legacy_token' | 'session' | 'none' | 'pat';

/** How one authentication ended: `success`, or the code of its refusal as the client saw it. */
export interface AuthOutcome {
  readonly credential: AuthCredential;
  readonly outcome: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by {@link requireAuth}. */
    principal?: Principal;
    /** Set where an authentication is decided (see {@link noteAuthentication}); the metrics read it. */
    authentication?: AuthOutcome;
  }
}

const CREDENTIAL_OF_SCHEME = { Bearer: 'access_token', Token: 'legacy_token', Session: 'session' } as const;

/**
 * Awaits `work`, an authentication of `credential`, and notes on the request how it ended
 * (`credential` may be a function: the resolver learns the scheme as it goes). The metrics
 * count it when the response is sent; nothing here knows of them.
 */
export async function noteAuthentication<T>(
  req: Request,
  credential: AuthCredential | (() => AuthCredential),
  work: Promise<T>,
): Promise<T> {
  const kind = () => (typeof credential === 'function' ? credential() : credential);
  try {
    const result = await work;
    req.authentication = { credential: kind(), outcome: 'success' };
    return result;
  } catch (err) {
    req.authentication = { credential: kind(), outcome: wireCode(toAppError(err).code) };
    throw err;
  }
}

/** The credential the resolver found on the request (`none` when it found none). */
const resolved = (req: Request): AuthCredential =>
  req.credentialScheme ? CREDENTIAL_OF_SCHEME[req.credentialScheme] : 'none';

/**
 * The request's principal; 401 when it carries no credentials or bad ones. Which credential it
 * presented is noted on the request first, so that any refusal, here or later, is challenged
 * in that credential's scheme (see `challengeFor`).
 */
export async function authenticate(ctx: Context, req: Request): Promise<Principal> {
  const apiKey = req.get('x-api-key');
  if (apiKey !== undefined) {
    const value = apiKey.trim();
    req.credentialScheme = looksLikeJwt(value) ? 'Bearer' : 'Token';
    return req.credentialScheme === 'Bearer' ? ctx.verifiers.access(ctx, value) : ctx.verifiers.legacy(ctx, value);
  }
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const [scheme = '', ...rest] = authorization.trim().split(/\s+/);
    const legacy = scheme.toLowerCase() === 'token';
    if (rest.length > 1) {
      req.credentialScheme = legacy ? 'Token' : 'Bearer';
      throw fail('token_malformed', {
        detail: legacy
          ? 'Invalid token header. Token string should not contain spaces.'
          : 'Authorization header must contain two space-delimited values',
      });
    }
    const credentials = rest[0] ?? '';
    switch (scheme.toLowerCase()) {
      case 'bearer':
        req.credentialScheme = 'Bearer';
        return ctx.verifiers.access(ctx, credentials);
      case 'token':
        req.credentialScheme = 'Token';
        return ctx.verifiers.legacy(ctx, credentials);
      default:
      // Another scheme (Basic, ...) is not ours: as if none were sent, as DRF does.
    }
  }
  const cookie = readCookie(req, SESSION_COOKIE);
  if (!cookie) throw fail('not_authenticated');
  req.credentialScheme = 'Session';
  return ctx.verifiers.session(ctx, req, cookie);
}

/**
 * When legacy tokens were deprecated in favour of PATs (RFC 9745 `Deprecation`, a Structured
 * Field Date): Latchkey accepts them only for migration.
 */
const LEGACY_DEPRECATED = `@${Date.UTC(2026, 10, 23) / 1000}`;

/**
 * Middleware for routes that need a caller: sets `req.principal` or fails with 401, and notes the
 * user's activity (`last_activity`, written in batches: see UsageRecorder). A legacy
 * token's use is logged (who, which org, which endpoint: what an org needs to migrate off
 * them, as Label Studio logs it) and answered with a `Deprecation` header.
 */
export function requireAuth(context: () => Context): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const ctx = context();
    const principal = await noteAuthentication(req, () => resolved(req), authenticate(ctx, req));
    req.principal = principal;
    ctx.usage.touch('user', principal.userId);
    if (principal.credential.kind === 'legacy') {
      res.setHeader('Deprecation', LEGACY_DEPRECATED);
      ctx.logger.info(
        {
          reqId: req.id,
          userId: principal.userId,
          organizationId: principal.organizationId,
          endpoint: `${req.method} ${req.baseUrl}${req.path}`,
        },
        'legacy token used',
      );
    }
    next();
  };
}

/** The principal `requireAuth` set; a route that calls this without it is a bug. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new TypeError('route is missing requireAuth');
  return req.principal;
}
