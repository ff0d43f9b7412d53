import { permissionDenied, type AppError, type ErrorCode } from '../errors';
import type { AuthState } from './state';
import type { Role } from './roles';

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
  /** How the credential arrived; decides the challenge on a later 403. */
  readonly scheme: 'Bearer' | 'Token' | 'Session';
}

/** 403 for a caller who is who they say but may not do this; Bearer callers get RFC 6750's insufficient_scope. */
export function forbidden(principal: Principal, detail = 'You do not have permission to perform this action.'): AppError {
  return permissionDenied(detail, principal.scheme === 'Bearer' ? { scheme: 'Bearer', error: 'insufficient_scope', description: detail } : undefined);
}

/**
 * The user exists and is active, and is a member of the organization: every credential needs
 * this. Returns the membership role; `fail` shapes the 401 for the credential at hand.
 */
export async function activeMemberRole(state: AuthState, userId: number, organizationId: number, fail: (code: ErrorCode, detail: string) => AppError): Promise<Role> {
  const user = await state.user(userId);
  if (!user) throw fail('user_not_found', 'User not found');
  if (!user.active) throw fail('user_inactive', 'User is inactive');
  const role = await state.role(userId, organizationId);
  if (!role) throw fail('not_a_member', 'User is no longer a member of the organization this token was issued for');
  return role;
}
