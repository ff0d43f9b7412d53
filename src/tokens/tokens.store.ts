/** Personal access tokens in Postgres: metadata and revocation state, never the token. */
import type { PrismaClient } from '../db/database';
import type { PersonalAccessToken, Prisma, RevocationReason, Role } from '../generated/prisma/client';

export type { PersonalAccessToken };
type Db = PrismaClient | Prisma.TransactionClient;

export function findPatByJti(db: Db, jti: string): Promise<PersonalAccessToken | null> {
  return db.personalAccessToken.findUnique({ where: { jti } });
}

export function findPatById(db: Db, id: number): Promise<PersonalAccessToken | null> {
  return db.personalAccessToken.findUnique({ where: { id } });
}

const live = (now: Date) => ({ revokedAt: null, expiresAt: { gt: now } });

export function listLivePats(
  db: Db,
  userId: number,
  organizationId: number,
  now: Date,
): Promise<PersonalAccessToken[]> {
  return db.personalAccessToken.findMany({ where: { userId, organizationId, ...live(now) }, orderBy: { id: 'asc' } });
}

/** Live PATs of a user in an organization. */
export function countLivePats(
  tx: Prisma.TransactionClient,
  userId: number,
  organizationId: number,
  now: Date,
): Promise<number> {
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
  const { count } = await tx.personalAccessToken.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: now, revokedReason: reason },
  });
  return count === 1;
}

/** Revokes every still-unrevoked PAT of a rotation family; returns how many. */
export async function revokeFamily(tx: Db, familyId: string, now: Date): Promise<number> {
  const { count } = await tx.personalAccessToken.updateMany({
    where: { familyId, revokedAt: null },
    data: { revokedAt: now, revokedReason: 'reuse' },
  });
  return count;
}

export function findOrganizationPolicy(db: Db, organizationId: number) {
  return db.organization.findUnique({
    where: { id: organizationId },
    select: { apiTokensEnabled: true, apiTokenTtlDays: true, accessTokenTtlSeconds: true },
  });
}
