/** The current user: who they are, their profile, and the organization their next login acts in. HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { UserRecord } from '../auth/state';
import type { Context } from '../context';
import { route } from '../http/routing';
import { integer, parseBody, storableString } from '../http/validate';
import { ROLES } from '../auth/roles';
import { labelStudioUser, labelStudioUserSchema } from '../users/user-object';
import { updateCurrentUser } from './account.service';

/** Django's `User.username`: at most 150 letters, digits and @/./+/-/_ (UnicodeUsernameValidator). */
export const USERNAME_MAX = 150;
/** Django's `first_name` and `last_name`. */
export const NAME_MAX = 150;
/** Room for any written form of an international number with an extension. */
export const PHONE_MAX = 32;

const atMost = (max: number) => `Ensure this field has no more than ${max} characters.`;

/** A DRF BooleanField's usual spellings (JSON, or a form's text). */
const boolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')], {
  error: 'Must be a valid boolean.',
});

/** Every field optional, as a PATCH is; strings trimmed, as DRF trims them. */
const currentUserPatch = z.object({
  active_organization: integer(1, 2 ** 31 - 1).optional(),
  username: storableString()
    .trim()
    .min(1, 'This field may not be blank.')
    .max(USERNAME_MAX, atMost(USERNAME_MAX))
    .regex(
      /^[\p{L}\p{N}_.@+-]+$/u,
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
    )
    .optional(),
  first_name: storableString().trim().max(NAME_MAX, atMost(NAME_MAX)).optional(),
  last_name: storableString().trim().max(NAME_MAX, atMost(NAME_MAX)).optional(),
  phone: storableString().trim().max(PHONE_MAX, atMost(PHONE_MAX)).optional(),
  allow_newsletters: boolean.optional(),
});

/** Label Studio's user object, plus the role this request acts with. */
const whoamiAnswer = labelStudioUserSchema.extend({ role: z.enum(ROLES) });

const TAGS = ['The current user'];

export function accountRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  /**
   * Label Studio's user object, plus `role`. `active_organization` is the user's (what the next
   * login acts in); `role` is this request's. `last_activity` is the later of what was read and
   * this instance's own note of the user's activity (which this very request made).
   */
  const whoami = (principal: Principal, user: UserRecord = principal.user): z.output<typeof whoamiAnswer> => {
    const noted = context().usage.noted('user', principal.userId);
    const lastActivity = noted && (!user.lastActivity || noted > user.lastActivity) ? noted : user.lastActivity;
    return { ...labelStudioUser({ ...user, id: principal.userId, lastActivity }), role: principal.role };
  };

  route(
    router,
    '/api/current-user/whoami',
    {
      get: [auth, (req, res) => void res.json(whoami(principalOf(req)))],
    },
    {
      api: {
        get: {
          summary: 'Who the caller is',
          description: 'Label Studio’s user object (what its SDK’s `WhoAmIUser` parses), plus the request’s `role`.',
          tags: TAGS,
          access: 'authenticated',
          responses: { 200: { description: 'The caller.', schema: whoamiAnswer } },
        },
      },
    },
  );

  route(
    router,
    '/api/current-user',
    {
      patch: [
        auth,
        async (req, res) => {
          const principal = principalOf(req);
          const body = parseBody(currentUserPatch, req.body);
          await updateCurrentUser(
            context(),
            principal,
            {
              activeOrganizationId: body.active_organization,
              username: body.username,
              firstName: body.first_name,
              lastName: body.last_name,
              phone: body.phone,
              allowNewsletters: body.allow_newsletters,
            },
            req.ip,
          );
          res.json(whoami(principal, (await context().state.user(principal.userId)) ?? principal.user));
        },
      ],
    },
    {
      api: {
        patch: {
          summary: 'Edit the caller’s profile, or switch the organization the next login acts in',
          tags: TAGS,
          access: 'authenticated',
          body: currentUserPatch,
          responses: { 200: { description: 'The caller, as whoami answers it.', schema: whoamiAnswer } },
          errors: ['not_found'],
        },
      },
    },
  );

  return router;
}
