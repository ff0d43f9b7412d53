/** Users in Postgres. */
import { prismaOf, type Db } from '../db/handle';
import type { User } from '../generated/prisma/client';

export type { User };

/** The user by (lower-cased) email, with the active memberships login may bind a session to. */
export function findUserByEmail(db: Db, email: string) {
  return prismaOf(db).user.findUnique({
    where: { email },
    select: {
      id: true,
      passwordHash: true,
      isActive: true,
      activeOrganizationId: true,
      memberships: {
        where: { status: 'active' },
        select: { organizationId: true, role: true },
        orderBy: { id: 'asc' },
      },
    },
  });
}

export function findAccessTokenTtl(db: Db, organizationId: number) {
  return prismaOf(db).organization.findUniqueOrThrow({
    where: { id: organizationId },
    select: { accessTokenTtlSeconds: true },
  });
}

export function findUserIdByEmail(db: Db, email: string): Promise<{ id: number } | null> {
  return prismaOf(db).user.findUnique({ where: { email }, select: { id: true } });
}

/** Is there any user at all (LIMIT 1, not how many: start-up must not scan the table)? */
export async function anyUserExists(db: Db): Promise<boolean> {
  return (await prismaOf(db).user.findFirst({ select: { id: true } })) !== null;
}

/** A new user; `username` defaults to the email (stored lower-cased), as Label Studio's does. */
export function insertUser(
  tx: Db,
  user: {
    email: string;
    username?: string;
    passwordHash: string;
    firstName?: string;
    lastName?: string;
    activeOrganizationId: number;
  },
): Promise<User> {
  return prismaOf(tx).user.create({ data: { ...user, username: user.username ?? user.email } });
}

/** What a user may change of their own profile (`PATCH /api/current-user`). */
export interface Profile {
  readonly username: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly phone: string;
  readonly allowNewsletters: boolean | null;
}

const PROFILE = {
  username: true,
  firstName: true,
  lastName: true,
  phone: true,
  allowNewsletters: true,
} as const satisfies Record<keyof Profile, true>;

/** The user's profile, its row locked until the transaction ends; null when there is no such user. */
export async function lockProfile(tx: Db, userId: number): Promise<Profile | null> {
  const [row] = await prismaOf(tx).$queryRaw<Profile[]>`
    SELECT username, first_name AS "firstName", last_name AS "lastName", phone, allow_newsletters AS "allowNewsletters"
    FROM users WHERE id = ${userId} FOR UPDATE`;
  return row ?? null;
}

/** Writes the given profile fields; a username another user has is a unique violation (P2002). */
export function updateProfile(tx: Db, userId: number, patch: Partial<Profile>): Promise<Profile> {
  return prismaOf(tx).user.update({ where: { id: userId }, data: patch, select: PROFILE });
}

export async function setActiveOrganization(tx: Db, userId: number, organizationId: number): Promise<void> {
  await prismaOf(tx).user.update({ where: { id: userId }, data: { activeOrganizationId: organizationId } });
}
