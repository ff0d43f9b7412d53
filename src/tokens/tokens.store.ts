/** Personal access tokens in Postgres: metadata and revocation state, never the token. */
import type { PrismaClient } from '../db/database';
import type { PersonalAccessToken, Prisma, RevocationReason, Role } from '../generated/prisma/client';

export type { PersonalAccessToken };
type Db = PrismaClient | Prisma.TransactionClient;

/** A PAT with everything refresh decides on, read in one indexed query. */
export interface PatForRefresh {
  readonly id: number;
  readonly userId: number;
  readonly organizationId: number;
  readonly role: Role;
  readonly familyId: string;
  readonly revokedReason: RevocationReason | null;
  readonly userActive: boolean;
  readonly memberRole: Role | null;
  readonly apiTokensEnabled: boolean;
  readonly accessTokenTtlSeconds: number;
}

export async function findPatForRefresh(db: Db, jti: string): Promise<PatForRefresh | undefined> {
  const rows = await db.$queryRaw<PatForRefresh[]>`
    SELECT p.id, p.user_id AS "userId", p.organization_id AS "organizationId", p.role::text AS role,
           p.family_id AS "familyId", p.revoked_reason::text AS "revokedReason",
           u.is_active AS "userActive", m.role::text AS "memberRole",
           o.api_tokens_enabled AS "apiTokensEnabled", o.access_token_ttl_seconds AS "accessTokenTtlSeconds"
    FROM personal_access_tokens p
    JOIN users u ON u.id = p.user_id
    JOIN organizations o ON o.id = p.organization_id
    LEFT JOIN memberships m ON m.user_id = p.user_id AND m.organization_id = p.organization_id
    WHERE p.jti = ${jti}`;
  return rows[0];
}

export function findPatByJti(db: Db, jti: string): Promise<PersonalAccessToken | null> {
  return db.personalAccessToken.findUnique({ where: { jti } });
}

export function findPatById(db: Db, id: number): Promise<PersonalAccessToken | null> {
  return db.personalAccessToken.findUnique({ where: { id } });
}

const live = (now: Date) => ({ revokedAt: null, expiresAt: { gt: now } });

export function listLivePats(db: Db, userId: number, organizationId: number, now: Date): Promise<PersonalAccessToken[]> {
  return db.personalAccessToken.findMany({ where: { userId, organizationId, ...live(now) }, orderBy: { id: 'asc' } });
}

/** Live PATs of a user in an organization. */
export function countLivePats(tx: Prisma.TransactionClient, userId: number, organizationId: number, now: Date): Promise<number> {
  return tx.personalAccessToken.count({ where: { userId, organizationId, ...live(now) } });
}

export interface NewPat {
  readonly jti: string;
  readonly name: string;
  readonly userId: number;
  readonly organizationId: number;
  readonly role: Role;
  readonly kid: string;
  readonly familyId: string;
  readonly parentId?: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export function insertPat(tx: Prisma.TransactionClient, pat: NewPat): Promise<PersonalAccessToken> {
  return tx.personalAccessToken.create({ data: { ...pat, parentId: pat.parentId ?? null } });
}

/** Revokes one PAT if it is still unrevoked; false when it already was (a lost race counts). */
export async function revokePat(tx: Db, id: number, reason: RevocationReason, now: Date): Promise<boolean> {
  const { count } = await tx.personalAccessToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } });
  return count === 1;
}

/** Revokes every still-unrevoked PAT of a rotation family; returns how many. */
export async function revokeFamily(tx: Db, familyId: string, now: Date): Promise<number> {
  const { count } = await tx.personalAccessToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now, revokedReason: 'reuse' } });
  return count;
}

/** The caller's role in an organization, or undefined if not a member. */
export async function findMemberRole(db: Db, userId: number, organizationId: number): Promise<Role | undefined> {
  const membership = await db.membership.findUnique({ where: { userId_organizationId: { userId, organizationId } }, select: { role: true } });
  return membership?.role;
}

export async function findOrganizationPolicy(db: Db, organizationId: number) {
  return db.organization.findUnique({
    where: { id: organizationId },
    select: { apiTokensEnabled: true, apiTokenTtlDays: true, accessTokenTtlSeconds: true },
  });
}
