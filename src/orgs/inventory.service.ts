/** The admin's view of an organization: every token in it (metadata only) and the audit trail. */
import { countAuditEvents, listAuditEvents, type AuditFilter } from '../audit/audit.store';
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { fail } from '../errors';
import type { Page } from '../http/paging';
import { revokeLegacy } from '../legacy/legacy.store';
import { findPatById, revokePat } from '../tokens/tokens.store';
import {
  countOrgTokens,
  listOrgTokens as listTokens,
  type InventoryFilter,
  type InventoryRow,
  type TokenType,
} from './inventory.store';
import { requireAdmin } from './orgs.service';

/** Every PAT and legacy token of the organization, newest first. Never a secret: none is stored. */
export type { InventoryFilter, InventoryRow, TokenType };

export async function listOrgTokens(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  page: Page,
  filter: InventoryFilter = {},
): Promise<{ count: number; rows: InventoryRow[] }> {
  requireAdmin(principal);
  const now = new Date(ctx.clock());
  const [count, rows] = await Promise.all([
    countOrgTokens(ctx.db, organizationId, filter, now),
    listTokens(ctx.db, organizationId, filter, now, page.skip, page.size),
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

/** The organization's audit trail, newest first, each event with its actor's email. */
export async function listOrgAudit(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  page: Page,
  filter: AuditFilter = {},
) {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countAuditEvents(ctx.db, organizationId, filter),
    listAuditEvents(ctx.db, organizationId, filter, page.skip, page.size),
  ]);
  return { count, rows };
}
