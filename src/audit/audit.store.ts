/** The audit trail: append-only rows, written in the same transaction as what they record. */
import type { PrismaClient } from '../db/database';
import type { Prisma } from '../generated/prisma/client';

export type AuditAction =
  | 'organization.created'
  | 'pat.created'
  | 'pat.rotated'
  | 'pat.revoked'
  | 'pat.family_revoked'
  | 'pat.refused_after_revoke'
  | 'session.created'
  | 'session.ended';

export interface AuditEvent {
  readonly action: AuditAction;
  readonly organizationId: number | null;
  readonly actorUserId: number | null;
  readonly targetType?: 'pat' | 'session' | 'organization' | 'user';
  readonly targetId?: string | number;
  readonly ip?: string | undefined;
  readonly details?: Prisma.InputJsonObject;
}

export async function recordAudit(db: PrismaClient | Prisma.TransactionClient, event: AuditEvent): Promise<void> {
  await db.auditEvent.create({
    data: {
      action: event.action,
      organizationId: event.organizationId,
      actorUserId: event.actorUserId,
      targetType: event.targetType ?? null,
      targetId: event.targetId === undefined ? null : String(event.targetId),
      ip: event.ip ?? null,
      details: event.details ?? {},
    },
  });
}
