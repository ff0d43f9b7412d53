/**
 * RFC 7662 introspection for resource servers. Any token Latchkey issued or stores can be
 * asked about; the answer is `{"active": false}` for anything not currently good for
 * authentication, and for tokens of an organization other than the caller's.
 */
import { looksLikeJwt } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { Role } from '../auth/roles';
import type { Context } from '../context';
import { AppError } from '../errors';
import { authenticateBearer } from './access-token';
import { decodeUnverified } from './jwt';
import { checkPat } from './tokens.service';

export type Introspection =
  | { readonly active: false }
  | {
      readonly active: true;
      /** Latchkey's kinds, as the tokens' own `token_type` claim names them. */
      readonly token_type: 'access' | 'refresh' | 'legacy';
      readonly sub: string;
      readonly user_id: string;
      readonly org_id: number;
      readonly role: Role;
      readonly iss: string;
      readonly exp?: number;
      readonly iat?: number;
      readonly jti?: string;
      readonly aud?: string;
    };

const INACTIVE: Introspection = Object.freeze({ active: false });

/** Resolves a token to what it may do now; any refusal is inactive, never an error. */
async function resolve(
  ctx: Context,
  token: string,
): Promise<
  { principal: Principal; kind: 'access' | 'refresh' | 'legacy'; claims: Record<string, unknown> } | undefined
> {
  try {
    if (!looksLikeJwt(token)) return { principal: await ctx.verifiers.legacy(ctx, token), kind: 'legacy', claims: {} };
    const claims = decodeUnverified(token)?.payload ?? {};
    if (claims.token_type === 'refresh') {
      const { pat, role, user } = await checkPat(ctx, token, undefined);
      const principal: Principal = {
        userId: pat.userId,
        organizationId: pat.organizationId,
        role,
        user,
        credential: { kind: 'pat_access', pat: String(claims.jti) },
      };
      return { principal, kind: 'refresh', claims };
    }
    return { principal: await authenticateBearer(ctx, token), kind: 'access', claims };
  } catch (err) {
    if (err instanceof AppError && err.status === 401) return undefined;
    throw err;
  }
}

export async function introspect(ctx: Context, caller: Principal, token: string): Promise<Introspection> {
  const found = await resolve(ctx, token);
  if (!found || found.principal.organizationId !== caller.organizationId) return INACTIVE;
  const { principal, kind, claims } = found;
  const pick = <K extends string>(key: K) => (claims[key] === undefined ? {} : { [key]: claims[key] });
  return {
    active: true,
    token_type: kind,
    sub: String(principal.userId),
    user_id: String(principal.userId),
    org_id: principal.organizationId,
    role: principal.role,
    iss: ctx.config.issuer,
    ...pick('exp'),
    ...pick('iat'),
    ...pick('jti'),
    ...pick('aud'),
  } as Introspection;
}
