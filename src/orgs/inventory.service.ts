/** The admin's view of an organization: every token in it (metadata only) and the audit trail. */
import { countAuditEvents, listAuditEvents } from '../audit/audit.store';
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { fail } from '../errors';
import type { Page } from '../http/paging';
import { revokeLegacy } from '../legacy/legacy.store';
import { findPatById, revokePat } from '../tokens/tokens.store';
import { countOrgTokens, listOrgTokens as listTokens, type InventoryRow, type TokenType } from './inventory.store';
import { requireAdmin } from './orgs.service';

/** Every PAT and legacy token of the organization, newest first. Never a secret: none is stored. */
export type { InventoryRow, TokenType };

export async function listOrgTokens(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  page: Page,
): Promise<{ count: number; rows: InventoryRow[] }> {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countOrgTokens(ctx.db, organizationId),
    listTokens(ctx.db, organizationId, page.skip, page.size),
  ]);
  return { count, rows };
}

/** Revokes any token of the organization; 404 if it is not one or is already revoked. */
export async function revokeOrgToken(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  type: TokenType,
  id: number,
  ip: string | undefined,
): Promise<void> {
  requireAdmin(principal);
  const now = new Date(ctx.clock());
  const target = { organizationId, actorUserId: principal.userId, targetId: id, ip } as const;
  if (type === 'pat') {
    await ctx.change(
      async (tx) => {
        const pat = await findPatById(tx, id);
        if (pat?.organizationId !== organizationId || !(await revokePat(tx, pat.id, 'revoked', now)))
          throw fail('not_found');
        return pat.userId;
      },
      (owner) => ({
        ...target,
        action: 'pat.revoked',
        targetType: 'pat',
        details: { via: 'inventory', owner_user_id: owner },
      }),
    );
  } else {
    await ctx.change(
      async (tx) => {
        if (!(await revokeLegacy(tx, id, organizationId, now))) throw fail('not_found');
      },
      () => ({ ...target, action: 'legacy_token.revoked', targetType: 'legacy_token', details: { via: 'inventory' } }),
    );
  }
}

export async function listOrgAudit(ctx: Context, principal: Principal, organizationId: number, page: Page) {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countAuditEvents(ctx.db, organizationId),
    listAuditEvents(ctx.db, organizationId, page.skip, page.size),
  ]);
  return { count, rows };
}
