/** The admin's view of an organization: every token in it (metadata only) and the audit trail. */
import { countAuditEvents, listAuditEvents, recordAudit } from '../audit/audit.store';
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { fail } from '../errors';
import type { Role } from '../generated/prisma/client';
import type { Page } from '../http/paging';
import { revokeLegacy } from '../legacy/legacy.store';
import { revokePat } from '../tokens/tokens.store';
import { requireAdmin } from './orgs.service';

export type TokenType = 'pat' | 'legacy';

export interface InventoryRow {
  readonly type: TokenType;
  readonly id: number;
  readonly user_id: number;
  readonly email: string;
  readonly name: string;
  /** A PAT's own role; a legacy token acts with its owner's membership role (null once removed, or while only invited back). */
  readonly role: Role | null;
  readonly hint: string | null;
  readonly created_at: Date;
  readonly expires_at: Date | null;
  readonly last_used_at: Date | null;
  readonly revoked_at: Date | null;
  readonly revoked_reason: string | null;
}

/** Every PAT and legacy token of the organization, newest first. Never a secret: none is stored. */
export async function listOrgTokens(
  ctx: Context,
  principal: Principal,
  organizationId: number,
  page: Page,
): Promise<{ count: number; rows: InventoryRow[] }> {
  requireAdmin(principal);
  const [{ count }] = await ctx.prisma.$queryRaw<[{ count: number }]>`
    SELECT ((SELECT count(*) FROM personal_access_tokens WHERE organization_id = ${organizationId})
          + (SELECT count(*) FROM legacy_tokens WHERE organization_id = ${organizationId}))::int AS count`;
  const rows = await ctx.prisma.$queryRaw<InventoryRow[]>`
    SELECT * FROM (
      SELECT 'pat' AS type, p.id, p.user_id, u.email, p.name, p.role::text AS role, NULL AS hint, p.created_at, p.expires_at,
             p.last_used_at, p.revoked_at, p.revoked_reason::text AS revoked_reason
      FROM personal_access_tokens p JOIN users u ON u.id = p.user_id
      WHERE p.organization_id = ${organizationId}
      UNION ALL
      SELECT 'legacy', t.id, t.user_id, u.email, 'Legacy token', m.role::text, t.hint, t.created_at, NULL,
             t.last_used_at, t.revoked_at, CASE WHEN t.revoked_at IS NULL THEN NULL ELSE 'revoked' END
      FROM legacy_tokens t JOIN users u ON u.id = t.user_id
      LEFT JOIN memberships m ON m.user_id = t.user_id AND m.organization_id = t.organization_id AND m.status = 'active'
      WHERE t.organization_id = ${organizationId}
    ) tokens
    ORDER BY created_at DESC, type, id DESC
    OFFSET ${page.skip} LIMIT ${page.size}`;
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
  await ctx.prisma.$transaction(async (tx) => {
    if (type === 'pat') {
      const pat = await tx.personalAccessToken.findFirst({
        where: { id, organizationId },
        select: { id: true, userId: true },
      });
      if (!pat || !(await revokePat(tx, pat.id, 'revoked', now))) throw fail('not_found');
      await recordAudit(tx, {
        action: 'pat.revoked',
        organizationId,
        actorUserId: principal.userId,
        targetType: 'pat',
        targetId: id,
        ip,
        details: { via: 'inventory', owner_user_id: pat.userId },
      });
    } else {
      if (!(await revokeLegacy(tx, id, organizationId, now))) throw fail('not_found');
      await recordAudit(tx, {
        action: 'legacy_token.revoked',
        organizationId,
        actorUserId: principal.userId,
        targetType: 'legacy_token',
        targetId: id,
        ip,
        details: { via: 'inventory' },
      });
    }
  });
  await ctx.state.sync();
}

export async function listOrgAudit(ctx: Context, principal: Principal, organizationId: number, page: Page) {
  requireAdmin(principal);
  const [count, rows] = await Promise.all([
    countAuditEvents(ctx.prisma, organizationId),
    listAuditEvents(ctx.prisma, organizationId, page.skip, page.size),
  ]);
  return { count, rows };
}
