/**
 * Access tokens: the short-lived JWTs sent as `Authorization: Bearer`, issued from a PAT
 * (refresh) or a login, and verified on every authenticated request.
 */
import type { Principal } from '../auth/principal';
import { refuse, standing } from '../auth/principal';
import { isRole, lower, type Role } from '../auth/roles';
import { epochSeconds, type Context } from '../context';
import { fail, type AppError } from '../errors';
import { randomHex } from '../secrets';
import { LOGIN_CLIENT_ID, PAT_CLIENT_ID, sign, verifyAccess, type AccessClaims, type VerifyOptions } from './jwt';

/** 128 random bits as 32 lowercase hex characters: the jti of every token we issue. */
export const newJti = () => randomHex(16);

export const verifyOptions = (ctx: Context): VerifyOptions => ({
  keys: ctx.keys,
  issuer: ctx.config.issuer,
  audience: ctx.config.jwt.audience,
  leewaySeconds: ctx.config.jwt.leewaySeconds,
  now: epochSeconds(ctx),
});

export interface AccessTokenSubject {
  readonly userId: number;
  readonly organizationId: number;
  readonly role: Role;
  readonly ttlSeconds: number;
  readonly source: { readonly pat: string } | { readonly sid: string };
}

/**
 * Signs an access token with the current key: every claim RFC 9068 §2.2 requires (iss, exp,
 * aud, sub, client_id, iat, jti), plus Label Studio's and the `pat` or `sid` it came from.
 */
export function issueAccessToken(ctx: Context, subject: AccessTokenSubject): string {
  const iat = epochSeconds(ctx);
  const claims: AccessClaims = {
    token_type: 'access',
    exp: iat + subject.ttlSeconds,
    iat,
    jti: newJti(),
    iss: ctx.config.issuer,
    aud: ctx.config.jwt.audience,
    sub: String(subject.userId),
    client_id: 'pat' in subject.source ? PAT_CLIENT_ID : LOGIN_CLIENT_ID,
    user_id: String(subject.userId),
    org_id: subject.organizationId,
    role: subject.role,
    ...subject.source,
  };
  return sign(ctx.keys.signer(), claims);
}

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
