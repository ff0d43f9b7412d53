/**
 * The reads behind authentication's caches. Each credential read is one indexed query that
 * returns the credential together with everything judging it needs: its user, the user's
 * membership in the credential's organization and that organization's token policy (left
 * joins: a missing user or membership comes back as nulls, to be refused, not as no row).
 * A pending membership (invited, not accepted) is joined as no membership: it grants nothing.
 */
import { prismaOf, type Db } from '../db/handle';
import { Prisma, type RevocationReason, type Role } from '../generated/prisma/client';

/** The holder's side of every credential row. */
interface HolderColumns {
  user_id: number;
  organization_id: number;
  u_active: boolean | null;
  u_email: string | null;
  u_username: string | null;
  u_first_name: string | null;
  u_last_name: string | null;
  u_phone: string | null;
  u_avatar: string | null;
  u_allow_newsletters: boolean | null;
  u_active_organization_id: number | null;
  u_created_at: Date | null;
  u_last_activity: Date | null;
  m_role: Role | null;
  o_api_tokens_enabled: boolean | null;
  o_legacy_enabled: boolean | null;
  o_access_token_ttl_seconds: number | null;
}

export interface PatRow extends HolderColumns {
  id: number;
  role: Role;
  family_id: string;
  revoked_reason: RevocationReason | null;
}

export interface SessionRow extends HolderColumns {
  token_hash: string;
  expires_at: Date;
  ended_at: Date | null;
}

export interface LegacyRow extends HolderColumns {
  id: number;
}

export interface UserRow {
  is_active: boolean;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  phone: string;
  avatar: string | null;
  allow_newsletters: boolean | null;
  active_organization_id: number | null;
  created_at: Date;
  last_activity: Date | null;
}

/** The user columns that authentication and whoami read: {@link UserRow}'s, for a table aliased `u`. */
const USER_COLUMNS = Prisma.sql`u.is_active, u.email, u.username, u.first_name, u.last_name, u.phone, u.avatar,
  u.allow_newsletters, u.active_organization_id, u.created_at, u.last_activity`;

/** `x` is the credential's table. */
const HOLDER = Prisma.sql`
  x.user_id, x.organization_id,
  u.is_active AS u_active, u.email AS u_email, u.username AS u_username, u.first_name AS u_first_name,
  u.last_name AS u_last_name, u.phone AS u_phone, u.avatar AS u_avatar, u.allow_newsletters AS u_allow_newsletters,
  u.active_organization_id AS u_active_organization_id, u.created_at AS u_created_at,
  u.last_activity AS u_last_activity,
  m.role AS m_role,
  o.api_tokens_enabled AS o_api_tokens_enabled, o.legacy_api_tokens_enabled AS o_legacy_enabled,
  o.access_token_ttl_seconds AS o_access_token_ttl_seconds`;

const JOINS = Prisma.sql`
  LEFT JOIN users u ON u.id = x.user_id
  LEFT JOIN memberships m ON m.user_id = x.user_id AND m.organization_id = x.organization_id AND m.status = 'active'
  LEFT JOIN organizations o ON o.id = x.organization_id`;

export async function readPat(db: Db, jti: string): Promise<PatRow | undefined> {
  const rows = await prismaOf(db).$queryRaw<PatRow[]>`
    SELECT x.id, x.role, x.family_id, x.revoked_reason, ${HOLDER}
    FROM personal_access_tokens x ${JOINS} WHERE x.jti = ${jti}`;
  return rows[0];
}

export async function readSession(db: Db, id: string): Promise<SessionRow | undefined> {
  const rows = await prismaOf(db).$queryRaw<SessionRow[]>`
    SELECT x.token_hash, x.expires_at, x.ended_at, ${HOLDER}
    FROM sessions x ${JOINS} WHERE x.id = ${id}`;
  return rows[0];
}

/** Only a live (unrevoked) token. */
export async function readLiveLegacy(db: Db, tokenHash: string): Promise<LegacyRow | undefined> {
  const rows = await prismaOf(db).$queryRaw<LegacyRow[]>`
    SELECT x.id, ${HOLDER}
    FROM legacy_tokens x ${JOINS} WHERE x.token_hash = ${tokenHash} AND x.revoked_at IS NULL`;
  return rows[0];
}

export async function readUser(db: Db, id: number): Promise<UserRow | undefined> {
  const rows = await prismaOf(db).$queryRaw<UserRow[]>`
    SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ${id}`;
  return rows[0];
}

/** Sends `payload` on `channel` to every listener (the change feed's sync marker). */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await prismaOf(db).$executeRaw`SELECT pg_notify(${channel}, ${payload})`;
}

/** What the authentication state reads (the stores above; a unit test passes its own). */
export interface StateReads {
  pat(jti: string): Promise<PatRow | undefined>;
  session(id: string): Promise<SessionRow | undefined>;
  legacy(tokenHash: string): Promise<LegacyRow | undefined>;
  user(id: number): Promise<UserRow | undefined>;
  /** Sends `payload` on `channel` (the sync marker). */
  notify(channel: string, payload: string): Promise<void>;
}

export const storeReads = (db: Db): StateReads => ({
  pat: (jti) => readPat(db, jti),
  session: (id) => readSession(db, id),
  legacy: (tokenHash) => readLiveLegacy(db, tokenHash),
  user: (id) => readUser(db, id),
  notify: (channel, payload) => notify(db, channel, payload),
});
