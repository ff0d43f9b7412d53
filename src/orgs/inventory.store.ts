/** Every token of an organization, PATs and legacy tokens in one list (metadata only: no secret is stored). */
import { prismaOf, type Db } from '../db/handle';
import { Prisma, type Role } from '../generated/prisma/client';

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
  readonly revoked_reason: 'revoked' | 'rotated' | 'reuse' | null;
}

/** Which tokens a listing shows; each absent field is no condition. */
export interface InventoryFilter {
  readonly type?: TokenType | undefined;
  readonly userId?: number | undefined;
  /** `live`: neither revoked nor expired (as of `now`); `revoked`: revoked, whatever the reason. */
  readonly status?: 'live' | 'revoked' | undefined;
  /** Used at or after this instant. */
  readonly usedSince?: Date | undefined;
}

/** Both kinds of token as one relation, with the columns every listing and filter reads. */
const tokensOf = (organizationId: number) => Prisma.sql`(
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
  ) tokens`;

/** The filter as SQL over {@link tokensOf} (Postgres pushes each condition into both halves). */
function matching(filter: InventoryFilter, now: Date): Prisma.Sql {
  const conditions = [
    filter.type && Prisma.sql`type = ${filter.type}`,
    filter.userId !== undefined && Prisma.sql`user_id = ${filter.userId}`,
    filter.status === 'live' && Prisma.sql`revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})`,
    filter.status === 'revoked' && Prisma.sql`revoked_at IS NOT NULL`,
    filter.usedSince && Prisma.sql`last_used_at >= ${filter.usedSince}`,
  ].filter((condition): condition is Prisma.Sql => Boolean(condition));
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

export async function countOrgTokens(
  db: Db,
  organizationId: number,
  filter: InventoryFilter,
  now: Date,
): Promise<number> {
  const [{ count }] = await prismaOf(db).$queryRaw<[{ count: number }]>`
    SELECT count(*)::int AS count FROM ${tokensOf(organizationId)} ${matching(filter, now)}`;
  return count;
}

/** Newest first. */
export function listOrgTokens(
  db: Db,
  organizationId: number,
  filter: InventoryFilter,
  now: Date,
  skip: number,
  take: number,
): Promise<InventoryRow[]> {
  return prismaOf(db).$queryRaw<InventoryRow[]>`
    SELECT * FROM ${tokensOf(organizationId)} ${matching(filter, now)}
    ORDER BY created_at DESC, type, id DESC
    OFFSET ${skip} LIMIT ${take}`;
}
