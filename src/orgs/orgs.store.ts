/** Organizations in Postgres. */
import { prismaOf, type Db } from '../db/handle';
import type { Organization } from '../generated/prisma/client';
import { settingsColumns, type SettingsPatch, type TokenSettings } from './settings';

export type { Organization };

/** Key for the transaction-scoped advisory lock that serializes first-start bootstrap. */
const BOOTSTRAP_LOCK_KEY = 0x4c4b_0001;

export function insertOrganization(tx: Db, title: string, settings: TokenSettings): Promise<Organization> {
  return prismaOf(tx).organization.create({ data: { title, ...settingsColumns(settings) } });
}

export async function insertOwner(tx: Db, organizationId: number, userId: number): Promise<void> {
  await prismaOf(tx).membership.create({ data: { userId, organizationId, role: 'owner' } });
}

/** Until the transaction ends: instances starting together bootstrap one at a time. */
export async function lockBootstrap(tx: Db): Promise<void> {
  await prismaOf(tx).$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`;
}

export function findOrganization(db: Db, id: number): Promise<Organization | null> {
  return prismaOf(db).organization.findUnique({ where: { id } });
}

/** Locks the organization's row for the rest of the transaction; null when there is none. */
export async function lockOrganization(tx: Db, id: number): Promise<Organization | null> {
  const [row] = await prismaOf(tx).$queryRaw<
    { id: number }[]
  >`SELECT id FROM organizations WHERE id = ${id} FOR UPDATE`;
  return row ? prismaOf(tx).organization.findUniqueOrThrow({ where: { id: row.id } }) : null;
}

export function updateSettings(tx: Db, id: number, patch: SettingsPatch): Promise<Organization> {
  return prismaOf(tx).organization.update({ where: { id }, data: settingsColumns(patch) });
}
