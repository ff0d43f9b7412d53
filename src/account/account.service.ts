/** The current user's own settings: their profile and the organization their next login acts in. */
import type { AuditEvent } from '../audit/audit.store';
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { isUniqueViolation } from '../db/handle';
import { fail } from '../errors';
import { isMember } from '../orgs/memberships.store';
import { lockProfile, setActiveOrganization, updateProfile, type Profile } from '../users/users.store';

export type { Profile };

/** `PATCH /api/current-user`: any of these; what is absent is unchanged. */
export interface CurrentUserPatch extends Partial<Profile> {
  readonly activeOrganizationId?: number | undefined;
}

export const USERNAME_TAKEN = 'A user with that username already exists.';
export const USERNAME_NOT_YOUR_EMAIL = 'A username with @ in it must be your own email address.';

/**
 * `PATCH /api/current-user`: the profile fields, and the organization the next login acts in
 * (one the user is an active member of), in one transaction with an audit event for each.
 *
 * A username is unique. The database decides (a unique index), so two users claiming one at
 * the same moment get one success and one 400, never a 500. Usernames default to the email, so
 * one with an `@` must be the user's own email: no one can take a username that a future user's
 * email would default to, or pass for someone else's address.
 */
export async function updateCurrentUser(
  ctx: Context,
  principal: Principal,
  patch: CurrentUserPatch,
  ip: string | undefined,
): Promise<void> {
  const { activeOrganizationId, ...profile } = patch;
  if (profile.username?.includes('@') && profile.username !== principal.user.email)
    throw fail('validation_error', { fields: { username: [USERNAME_NOT_YOUR_EMAIL] } });
  if (activeOrganizationId !== undefined && !(await isMember(ctx.db, principal.userId, activeOrganizationId)))
    throw fail('not_found');
  const fields = (Object.keys(profile) as (keyof Profile)[]).filter((key) => profile[key] !== undefined);
  if (activeOrganizationId === undefined && !fields.length) return;
  try {
    await ctx.change(
      async (tx) => {
        if (activeOrganizationId !== undefined) await setActiveOrganization(tx, principal.userId, activeOrganizationId);
        if (!fields.length) return undefined;
        const before = await lockProfile(tx, principal.userId);
        if (!before) throw fail('not_found');
        return { before, after: await updateProfile(tx, principal.userId, profile) };
      },
      (profileChange) => {
        const events: AuditEvent[] = [];
        if (activeOrganizationId !== undefined)
          events.push({
            action: 'user.active_organization_changed',
            organizationId: activeOrganizationId,
            actorUserId: principal.userId,
            targetType: 'user',
            targetId: principal.userId,
            ip,
          });
        if (profileChange) {
          const event = profileUpdated(principal, profileChange.before, profileChange.after, ip);
          if (event) events.push(event);
        }
        return events;
      },
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw fail('validation_error', { fields: { username: [USERNAME_TAKEN] } });
    throw err;
  }
}

/** Profile fields by their names on the wire. */
const WIRE = {
  username: 'username',
  firstName: 'first_name',
  lastName: 'last_name',
  phone: 'phone',
  allowNewsletters: 'allow_newsletters',
} as const satisfies Record<keyof Profile, string>;

/**
 * The audit event of a profile change: which fields changed, and the old and new username (an
 * identifier others see). The other values are personal data and stay out of an append-only
 * trail. None when nothing changed.
 */
function profileUpdated(
  principal: Principal,
  before: Profile,
  after: Profile,
  ip: string | undefined,
): AuditEvent | undefined {
  const changed = (Object.keys(WIRE) as (keyof Profile)[]).filter((key) => before[key] !== after[key]);
  if (!changed.length) return undefined;
  return {
    action: 'user.profile_updated',
    organizationId: principal.organizationId,
    actorUserId: principal.userId,
    targetType: 'user',
    targetId: principal.userId,
    ip,
    details: {
      fields: changed.map((key) => WIRE[key]),
      ...(changed.includes('username') ? { username: { old: before.username, new: after.username } } : {}),
    },
  };
}
