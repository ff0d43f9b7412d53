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
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context } from '../context';
import { AppError } from '../errors';
import { safeEqual, sha256Hex } from '../secrets';
import { looksLikeJwt, tokenError, verifyAccess } from '../tokens/jwt';
import { verifyOptions } from '../tokens/tokens.service';
import { authenticateLegacy, legacyError } from '../legacy/legacy.service';
import { CSRF_HEADER, csrfTokenFor, isOurSessionSecret, readCookie, SESSION_COOKIE } from '../sessions/cookies';
import { standing, type Principal } from './principal';
import { isRole, lower } from './roles';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by {@link requireAuth}. */
    principal?: Principal;
  }
}

const notAuthenticated = () => new AppError(401, 'not_authenticated', 'Authentication credentials were not provided.');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * A signed access token whose PAT or session is gone: its user was deleted (which deletes
 * both) or the row was. Says which; costs a query only on this refusal path.
 */
async function missing(ctx: Context, userId: number, otherwise: AppError): Promise<AppError> {
  return (await ctx.state.user(userId)) ? otherwise : tokenError('user_not_found', 'User not found');
}

/** An access token (Bearer or X-Api-Key) → its principal, or a 401 saying why not. */
export async function authenticateBearer(ctx: Context, token: string): Promise<Principal> {
  if (!token) throw tokenError('token_malformed', 'Invalid Authorization header. No credentials provided.');
  const checked = await verifyAccess(token, verifyOptions(ctx));
  if (checked.kind === 'pat') {
    throw tokenError(
      'refresh_token_as_access',
      'This is a personal access token (a refresh token), not an access token. Exchange it for an access token at POST /api/token/refresh with {"refresh": "<token>"} and send that as the Bearer token.',
    );
  }
  const { claims } = checked;
  const userId = Number(claims.user_id);
  if (!Number.isSafeInteger(userId) || !isRole(claims.role)) throw tokenError('token_invalid', 'Token is invalid');
  const organizationId = claims.org_id;
  if (claims.pat !== undefined) {
    const held = await ctx.state.pat(claims.pat);
    const pat = held?.credential;
    if (!pat || pat.userId !== userId || pat.organizationId !== organizationId)
      throw await missing(ctx, userId, tokenError('token_invalid', 'Token is invalid'));
    if (pat.revokedReason) throw tokenError('token_blacklisted', 'Token is blacklisted');
    // Capped by its PAT's current role too: a PAT lowered after the refresh lowers its tokens.
    const { role, user } = standing(held.holder, 'pat', lower(claims.role, pat.role), tokenError);
    ctx.usage.touch('pat', claims.pat);
    return {
      userId,
      organizationId,
      role,
      user,
      credential: { kind: 'pat_access', pat: claims.pat },
      scheme: 'Bearer',
    };
  }
  const held = await ctx.state.session(claims.sid!);
  const session = held?.credential;
  if (
    !session ||
    session.ended ||
    session.expiresAt <= ctx.clock() ||
    session.userId !== userId ||
    session.organizationId !== organizationId
  ) {
    throw await missing(
      ctx,
      userId,
      tokenError('session_ended', 'The session this token was issued for has ended; log in again.'),
    );
  }
  const { role, user } = standing(held.holder, 'login', claims.role, tokenError);
  return {
    userId,
    organizationId,
    role,
    user,
    credential: { kind: 'login_access', sid: claims.sid! },
    scheme: 'Bearer',
  };
}

const SESSION_VALUE = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;
const sessionEnded = () => new AppError(401, 'session_ended', 'Your session has expired or ended; log in again.');

async function session(ctx: Context, req: Request, value: string): Promise<Principal> {
  const parts = SESSION_VALUE.exec(value);
  // A cookie this deployment did not make costs no lookup.
  const held =
    parts && isOurSessionSecret(ctx.tags, parts[1]!, parts[2]!) ? await ctx.state.session(parts[1]!) : undefined;
  const row = held?.credential;
  if (!row || !safeEqual(row.tokenHash, sha256Hex(parts![2]!)) || row.ended || row.expiresAt <= ctx.clock())
    throw sessionEnded();
  if (!SAFE_METHODS.has(req.method)) {
    const header = req.get(CSRF_HEADER);
    if (!header || !safeEqual(header, csrfTokenFor(parts![2]!)))
      throw new AppError(403, 'csrf_failed', 'CSRF Failed: CSRF token missing or incorrect.');
  }
  const { role, user } = standing(held.holder, 'session', undefined, () => sessionEnded());
  return {
    userId: row.userId,
    organizationId: row.organizationId,
    role,
    user,
    credential: { kind: 'session', sid: parts![1]! },
    scheme: 'Session',
  };
}

/** The request's principal; 401 when it carries no credentials or bad ones. */
export async function authenticate(ctx: Context, req: Request): Promise<Principal> {
  const apiKey = req.get('x-api-key');
  if (apiKey !== undefined) {
    const value = apiKey.trim();
    return looksLikeJwt(value) ? authenticateBearer(ctx, value) : authenticateLegacy(ctx, value);
  }
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const [scheme = '', ...rest] = authorization.trim().split(/\s+/);
    if (rest.length > 1) {
      throw scheme.toLowerCase() === 'token'
        ? legacyError('token_malformed', 'Invalid token header. Token string should not contain spaces.')
        : tokenError('token_malformed', 'Authorization header must contain two space-delimited values');
    }
    const credentials = rest[0] ?? '';
    switch (scheme.toLowerCase()) {
      case 'bearer':
        return authenticateBearer(ctx, credentials);
      case 'token':
        return authenticateLegacy(ctx, credentials);
      default:
      // Another scheme (Basic, ...) is not ours: as if none were sent, as DRF does.
    }
  }
  const cookie = readCookie(req, SESSION_COOKIE);
  if (cookie) return session(ctx, req, cookie);
  throw notAuthenticated();
}

/**
 * When legacy tokens were deprecated in favour of PATs (RFC 9745 `Deprecation`, a Structured
 * Field Date): Latchkey accepts them only for migration.
 */
const LEGACY_DEPRECATED = `@${Date.UTC(2026, 10, 23) / 1000}`;

/**
 * Middleware for routes that need a caller: sets `req.principal` or fails with 401. A legacy
 * token's use is logged (who, which org, which endpoint: what an org needs to migrate off
 * them, as Label Studio logs it) and answered with a `Deprecation` header.
 */
export function requireAuth(context: () => Context): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const ctx = context();
    const principal = await authenticate(ctx, req);
    req.principal = principal;
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
