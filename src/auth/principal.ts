import { fail, type AppError, type ErrorCode } from '../errors';
import { lower, type Role } from './roles';
import type { Holder, UserRecord } from './state';

/** Who is calling, and in which organization: what every authenticated route acts on. */
export interface Principal {
  readonly userId: number;
  /** The organization the credential is bound to; the request acts in it. */
  readonly organizationId: number;
  /** The lower of the credential's role and the user's current membership role. */
  readonly role: Role;
  readonly credential:
    | { readonly kind: 'pat_access'; readonly pat: string }
    | { readonly kind: 'login_access'; readonly sid: string }
    | { readonly kind: 'session'; readonly sid: string }
    | { readonly kind: 'legacy'; readonly tokenId: number };
  /** The caller's user as authentication read it (this request's view: whoami answers from it). */
  readonly user: UserRecord;
}

/** A credential's kind, as far as {@link standing} cares. Login tokens and sessions are not API tokens. */
export type CredentialKind = 'pat' | 'login' | 'session' | 'legacy';

/** Shapes a refusal for the credential at hand (its code and words). */
export type Refuse = (code: ErrorCode, detail: string) => AppError;

/** A refusal as {@link standing} words it. */
export const refuse: Refuse = (code, detail) => fail(code, { detail });

export const LEGACY_DISABLED_DETAIL =
  'Authentication token no longer valid: legacy token authentication has been disabled for this organization';

/**
 * Who may use a credential: the one rule, called by every path that accepts one (Bearer,
 * X-Api-Key, session, legacy token, refresh, rotate, introspection, forward-auth). The user
 * exists and is active, is a member of the organization the credential is bound to, and that
 * organization allows the credential's type (login sessions are not API tokens: an admin must
 * always be able to switch PATs back on). Returns what the credential may do now (the lower
 * of its own role and the user's current membership role, so a demotion applies at once) and
 * the user it acts as.
 */
export function standing(
  holder: Holder,
  kind: CredentialKind,
  credentialRole: Role | undefined,
  refuse: Refuse,
): { role: Role; user: UserRecord } {
  if (!holder.user) throw refuse('user_not_found', 'User not found');
  if (!holder.user.active) throw refuse('user_inactive', 'User is inactive');
  if (!holder.role)
    throw refuse('not_a_member', 'User is no longer a member of the organization this token was issued for');
  if (kind === 'pat' && !holder.policy?.apiTokensEnabled)
    throw refuse('token_type_disabled', 'Personal access tokens are disabled for this organization.');
  if (kind === 'legacy' && !holder.policy?.legacyEnabled) throw refuse('token_type_disabled', LEGACY_DISABLED_DETAIL);
  return { role: credentialRole === undefined ? holder.role : lower(credentialRole, holder.role), user: holder.user };
}
