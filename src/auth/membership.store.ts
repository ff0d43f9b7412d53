/** The membership row that token creation locks, with its organization's token switches. */
import { prismaOf, type Db } from '../db/handle';

export interface LockedMembership {
  readonly apiTokensEnabled: boolean;
  readonly legacyApiTokensEnabled: boolean;
}

/**
 * Locks one active membership row for the rest of the transaction: serializes token creation
 * per user and organization (so the PAT limit and the one live legacy token hold under
 * concurrency). Undefined: not a member.
 */
export async function lockMembership(
  tx: Db,
  userId: number,
  organizationId: number,
): Promise<LockedMembership | undefined> {
  const [row] = await prismaOf(tx).$queryRaw<LockedMembership[]>`
    SELECT o.api_tokens_enabled AS "apiTokensEnabled", o.legacy_api_tokens_enabled AS "legacyApiTokensEnabled"
    FROM memberships m JOIN organizations o ON o.id = m.organization_id
    WHERE m.user_id = ${userId} AND m.organization_id = ${organizationId} AND m.status = 'active'
    FOR UPDATE OF m`;
  return row;
}
