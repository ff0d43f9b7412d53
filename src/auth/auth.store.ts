/** What authentication reads from Postgres: one query per credential, and sessions. */
import type { PrismaClient } from '../db/database';
import type { Prisma, Role, Session } from '../generated/prisma/client';

type Db = PrismaClient | Prisma.TransactionClient;

export interface PrincipalState {
  readonly userActive: boolean;
  readonly memberRole: Role | null;
  readonly apiTokensEnabled: boolean | null;
  /** Only when a PAT jti was asked about: does it exist (for this user and org), is it revoked. */
  readonly patFound: boolean;
  readonly patRevoked: boolean;
  /** Only when a session id was asked about: is it live (not ended, not expired). */
  readonly sessionLive: boolean;
}

/** The user, their membership in `organizationId`, the org's policy and the PAT or session, at once. */
export async function findPrincipalState(
  prisma: PrismaClient,
  q: { userId: number; organizationId: number; pat: string | null; sid: string | null; now: Date },
): Promise<PrincipalState | undefined> {
  const rows = await prisma.$queryRaw<PrincipalState[]>`
    SELECT u.is_active AS "userActive", m.role::text AS "memberRole", o.api_tokens_enabled AS "apiTokensEnabled",
           p.id IS NOT NULL AS "patFound", p.revoked_at IS NOT NULL AS "patRevoked",
           (s.id IS NOT NULL AND s.ended_at IS NULL AND s.expires_at > ${q.now}) AS "sessionLive"
    FROM users u
    LEFT JOIN organizations o ON o.id = ${q.organizationId}
    LEFT JOIN memberships m ON m.user_id = u.id AND m.organization_id = o.id
    LEFT JOIN personal_access_tokens p ON p.jti = ${q.pat}::char(32) AND p.user_id = u.id AND p.organization_id = o.id
    LEFT JOIN sessions s ON s.id = ${q.sid}::char(32) AND s.user_id = u.id AND s.organization_id = o.id
    WHERE u.id = ${q.userId}`;
  return rows[0];
}

export function insertSession(prisma: Db, session: Pick<Session, 'id' | 'tokenHash' | 'userId' | 'organizationId' | 'createdAt' | 'expiresAt'>): Promise<Session> {
  return prisma.session.create({ data: session });
}

export function findSession(prisma: PrismaClient, id: string): Promise<Session | null> {
  return prisma.session.findUnique({ where: { id } });
}

/** Ends a live session; false if it was already over. */
export async function endSession(prisma: Db, id: string, now: Date): Promise<boolean> {
  const { count } = await prisma.session.updateMany({ where: { id, endedAt: null }, data: { endedAt: now } });
  return count === 1;
}
