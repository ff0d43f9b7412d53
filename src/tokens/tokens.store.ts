/** Personal access tokens in Postgres: metadata and revocation state, never the token. */
import { prismaOf, type Db } from '../db/handle';
import type { PersonalAccessToken, RevocationReason, Role } from '../generated/prisma/client';

export type { PersonalAccessToken };

export function findPatByJti(db: Db, jti: string): Promise<PersonalAccessToken | null> {
  return prismaOf(db).personalAccessToken.findUnique({ where: { jti } });
}

export function findPatById(db: Db, id: number): Promise<PersonalAccessToken | null> {
  return prismaOf(db).personalAccessToken.findUnique({ where: { id } });
}

const live = (now: Date) => ({ revokedAt: null, expiresAt: { gt: now } });

export function listLivePats(
  db: Db,
  userId: number,
  organizationId: number,
  now: Date,
): Promise<PersonalAccessToken[]> {
  return prismaOf(db).personalAccessToken.findMany({
    where: { userId, organizationId, ...live(now) },
    orderBy: { id: 'asc' },
  });
}

/** Live PATs of a user in an organization. */
export function countLivePats(tx: Db, userId: number, organizationId: number, now: Date): Promise<number> {
  return prismaOf(tx).personalAccessToken.count({ where: { userId, organizationId, ...live(now) } });
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

export function insertPat(tx: Db, pat: NewPat): Promise<PersonalAccessToken> {
  return prismaOf(tx).personalAccessToken.create({ data: { ...pat, parentId: pat.parentId ?? null } });
}

/** Revokes one PAT if it is still unrevoked; false when it already was (a lost race counts). */
export async function revokePat(tx: Db, id: number, reason: RevocationReason, now: Date): Promise<boolean> {
  const { count } = await prismaOf(tx).personalAccessToken.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: now, revokedReason: reason },
  });
  return count === 1;
}

/** Revokes every still-unrevoked PAT of a rotation family; returns how many. */
export async function revokeFamily(tx: Db, familyId: string, now: Date): Promise<number> {
  const { count } = await prismaOf(tx).personalAccessToken.updateMany({
    where: { familyId, revokedAt: null },
    data: { revokedAt: now, revokedReason: 'reuse' },
  });
  return count;
}

export function findOrganizationPolicy(db: Db, organizationId: number) {
  return prismaOf(db).organization.findUnique({
    where: { id: organizationId },
    select: { apiTokensEnabled: true, apiTokenTtlDays: true, accessTokenTtlSeconds: true },
  });
}
