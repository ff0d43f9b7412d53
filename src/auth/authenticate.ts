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
import { fail, type AppError } from '../errors';
import { safeEqual, sha256Hex } from '../secrets';
import { looksLikeJwt, verifyAccess } from '../tokens/jwt';
import { verifyOptions } from '../tokens/tokens.service';
import { authenticateLegacy } from '../legacy/legacy.service';
import { CSRF_HEADER, csrfTokenFor, isOurSessionSecret, readCookie, SESSION_COOKIE } from './cookies';
import { refuse, standing, type Principal } from './principal';
import { isRole, lower } from './roles';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by {@link requireAuth}. */
    principal?: Principal;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * A signed access token whose PAT or session is gone: its user was deleted (which deletes
 * both) or the row was. Says which; costs a query only on this refusal path.
 */
async function missing(ctx: Context, userId: number, otherwise: AppError): Promise<AppError> {
  return (await ctx.state.user(userId)) ? otherwise : fail('user_not_found');
}

/** An access token (Bearer or X-Api-Key) → its principal, or a 401 saying why not. */
export async function authenticateBearer(ctx: Context, token: string): Promise<Principal> {
  if (!token) throw fail('token_malformed', { detail: 'Invalid Authorization header. No credentials provided.' });
  const checked = await verifyAccess(token, verifyOptions(ctx));
  if (checked.kind === 'pat') throw fail('refresh_token_as_access');
  const { claims } = checked;
  const userId = Number(claims.user_id);
  if (!Number.isSafeInteger(userId) || !isRole(claims.role)) throw fail('token_invalid');
  const organizationId = claims.org_id;
  if (claims.pat !== undefined) {
    const held = await ctx.state.pat(claims.pat);
    const pat = held?.credential;
    if (!pat || pat.userId !== userId || pat.organizationId !== organizationId)
      throw await missing(ctx, userId, fail('token_invalid'));
    if (pat.revokedReason) throw fail('token_blacklisted');
    // Capped by its PAT's current role too: a PAT lowered after the refresh lowers its tokens.
    const { role, user } = standing(held.holder, 'pat', lower(claims.role, pat.role), refuse);
    ctx.usage.touch('pat', claims.pat);
    return {
      userId,
      organizationId,
      role,
      user,
      credential: { kind: 'pat_access', pat: claims.pat },
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
      fail('session_ended', { detail: 'The session this token was issued for has ended; log in again.' }),
    );
  }
  const { role, user } = standing(held.holder, 'login', claims.role, refuse);
  return {
    userId,
    organizationId,
    role,
    user,
    credential: { kind: 'login_access', sid: claims.sid! },
  };
}

const SESSION_VALUE = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

async function session(ctx: Context, req: Request, value: string): Promise<Principal> {
  const parts = SESSION_VALUE.exec(value);
  // A cookie this deployment did not make costs no lookup.
  const held =
    parts && isOurSessionSecret(ctx.tags, parts[1]!, parts[2]!) ? await ctx.state.session(parts[1]!) : undefined;
  const row = held?.credential;
  if (!row || !safeEqual(row.tokenHash, sha256Hex(parts![2]!)) || row.ended || row.expiresAt <= ctx.clock())
    throw fail('session_ended');
  if (!SAFE_METHODS.has(req.method)) {
    const header = req.get(CSRF_HEADER);
    if (!header || !safeEqual(header, csrfTokenFor(parts![2]!))) throw fail('csrf_failed');
  }
  const { role, user } = standing(held.holder, 'session', undefined, () => fail('session_ended'));
  return {
    userId: row.userId,
    organizationId: row.organizationId,
    role,
    user,
    credential: { kind: 'session', sid: parts![1]! },
  };
}

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
    return req.credentialScheme === 'Bearer' ? authenticateBearer(ctx, value) : authenticateLegacy(ctx, value);
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
        return authenticateBearer(ctx, credentials);
      case 'token':
        req.credentialScheme = 'Token';
        return authenticateLegacy(ctx, credentials);
      default:
      // Another scheme (Basic, ...) is not ours: as if none were sent, as DRF does.
    }
  }
  const cookie = readCookie(req, SESSION_COOKIE);
  if (!cookie) throw fail('not_authenticated');
  req.credentialScheme = 'Session';
  return session(ctx, req, cookie);
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
