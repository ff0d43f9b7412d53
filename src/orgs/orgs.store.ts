import type { PrismaClient } from '../db/database';
import type { Organization, Prisma, User } from '../generated/prisma/client';
import { recordAudit } from '../audit/audit.store';
import { ProcessError } from '../process-errors';
import { settingsColumns, type TokenSettings } from './settings';

/** Postgres unique-violation, as Prisma reports it. */
const isUniqueViolation = (err: unknown) =>
  typeof err === 'object' && err !== null && 'code' in err && err.code === 'P2002';

export class UserExistsError extends ProcessError {
  readonly code = 'user_exists';
  override readonly name = 'UserExistsError';
}

export interface NewOwner {
  readonly email: string;
  readonly passwordHash: string;
  readonly organization: string;
  readonly settings: TokenSettings;
}

export interface OwnedOrganization {
  readonly organization: Organization;
  readonly user: User;
}

/** Key for the transaction-scoped advisory lock that serializes first-start bootstrap. */
const BOOTSTRAP_LOCK_KEY = 0x4c4b_0001;

export function insertOrganization(
  tx: Prisma.TransactionClient,
  title: string,
  settings: TokenSettings,
): Promise<Organization> {
  return tx.organization.create({ data: { title, ...settingsColumns(settings) } });
}

/** Inside a transaction: a new organization's first owner, and the audit event of its creation. */
export async function addFirstOwner(
  tx: Prisma.TransactionClient,
  o: {
    organizationId: number;
    userId: number;
    actorUserId: number | null;
    ip?: string | undefined;
    via: 'api' | 'cli' | 'bootstrap';
  },
): Promise<void> {
  await tx.membership.create({ data: { userId: o.userId, organizationId: o.organizationId, role: 'owner' } });
  await recordAudit(tx, {
    action: 'organization.created',
    organizationId: o.organizationId,
    actorUserId: o.actorUserId,
    targetType: 'organization',
    targetId: o.organizationId,
    ip: o.ip,
    details: { owner_user_id: o.userId, via: o.via },
  });
}

/** Inside a transaction: organization, user (active in it), owner membership, audit event. */
async function insertOwnedOrganization(
  tx: Prisma.TransactionClient,
  owner: NewOwner,
  via: 'cli' | 'bootstrap',
): Promise<OwnedOrganization> {
  const organization = await insertOrganization(tx, owner.organization, owner.settings);
  const user = await tx.user.create({
    data: { email: owner.email.toLowerCase(), passwordHash: owner.passwordHash, activeOrganizationId: organization.id },
  });
  await addFirstOwner(tx, { organizationId: organization.id, userId: user.id, actorUserId: null, via });
  return { organization, user };
}

/** `latchkey create-admin`: a new organization owned by a new user. */
export async function createOrganizationWithOwner(prisma: PrismaClient, owner: NewOwner): Promise<OwnedOrganization> {
  try {
    return await prisma.$transaction((tx) => insertOwnedOrganization(tx, owner, 'cli'));
  } catch (err) {
    if (isUniqueViolation(err))
      throw new UserExistsError(`a user with email ${owner.email.toLowerCase()} already exists`, { cause: err });
    throw err;
  }
}

/**
 * The LATCHKEY_ADMIN_* bootstrap: creates the first organization and owner only when the
 * database has no user at all. Instances starting together serialize on an advisory lock,
 * so exactly one creates it. Returns undefined when there were users already.
 */
export function bootstrapFirstOwner(prisma: PrismaClient, owner: NewOwner): Promise<OwnedOrganization | undefined> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`;
    // Is there any user (LIMIT 1), not how many: start-up must not scan the table.
    if (await tx.user.findFirst({ select: { id: true } })) return undefined;
    return insertOwnedOrganization(tx, owner, 'bootstrap');
  });
}
