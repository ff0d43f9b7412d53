/**
 * Label Studio's user object, as its API answers it (`UserSerializer`; the SDK's `WhoAmIUser`
 * requires `username`): whoami, `PATCH /api/current-user` and the member list answer it.
 */
import { z } from 'zod';
import type { UserRecord } from '../auth/state';
import { iso, timestamp } from '../http/responses';

/** What the object is made of: a cached user (AuthState's record, with its id) or a row alike. */
export type UserFields = Omit<UserRecord, 'active'> & { readonly id: number };

/** The first `n` characters (code points, as Python slices a string). */
const first = (text: string, n: number) => Array.from(text).slice(0, n).join('');

/**
 * Label Studio's `User.get_initials()`: the first letters of the first and last names, the one
 * of whichever is set, or with neither the first two characters of the email.
 */
export function initials(user: Pick<UserFields, 'firstName' | 'lastName' | 'email'>): string {
  if (!user.firstName && !user.lastName) return first(user.email, 2);
  return first(user.firstName, 1) + first(user.lastName, 1);
}

/** The object's schema, for the OpenAPI document (what {@link labelStudioUser} answers). */
export const labelStudioUserSchema = z.object({
  id: z.int(),
  username: z.string(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  avatar: z.string().nullable(),
  initials: z.string(),
  phone: z.string(),
  active_organization: z.int().nullable(),
  date_joined: timestamp,
  last_activity: timestamp.nullable(),
  allow_newsletters: z.boolean().nullable(),
});

export function labelStudioUser(user: UserFields): z.output<typeof labelStudioUserSchema> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    avatar: user.avatar,
    initials: initials(user),
    phone: user.phone,
    active_organization: user.activeOrganizationId,
    date_joined: iso(user.dateJoined),
    last_activity: iso(user.lastActivity),
    allow_newsletters: user.allowNewsletters,
  };
}
