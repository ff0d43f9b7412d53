/** The current user's own settings. */
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { fail } from '../errors';
import { isMember } from '../orgs/memberships.store';
import { setActiveOrganization } from '../users/users.store';

/** `PATCH /api/current-user`: the organization the next login acts in (one the user is a member of; not a pending one). */
export async function switchActiveOrganization(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  ip: string | undefined,
): Promise<void> {
  if (!(await isMember(ctx.db, principal.userId, organizationId))) throw fail('not_found');
  await ctx.change(
    (tx) => setActiveOrganization(tx, principal.userId, organizationId),
    () => ({
      action: 'user.active_organization_changed',
      organizationId,
      actorUserId: principal.userId,
      targetType: 'user',
      targetId: principal.userId,
      ip,
    }),
  );
}
