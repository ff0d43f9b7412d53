/** The audit trail: append-only rows, written in the same transaction as what they record. */
import { prismaOf, type Db } from '../db/handle';
import type { Prisma } from '../generated/prisma/client';

export type AuditAction =
  | 'organization.created'
  | 'settings.updated'
  | 'membership.created'
  | 'membership.updated'
  | 'membership.deleted'
  | 'membership.accepted'
  | 'membership.declined'
  | 'user.active_organization_changed'
  | 'user.profile_updated'
  | 'legacy_token.created'
  | 'legacy_token.revoked'
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
  readonly targetType?: 'pat' | 'legacy_token' | 'session' | 'organization' | 'user' | 'membership';
  readonly targetId?: string | number;
  readonly ip?: string | undefined;
  readonly details?: Prisma.InputJsonObject;
}

export async function recordAudit(db: Db, event: AuditEvent): Promise<void> {
  await prismaOf(db).auditEvent.create({
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

export function countAuditEvents(db: Db, organizationId: number): Promise<number> {
  return prismaOf(db).auditEvent.count({ where: { organizationId } });
}

/** Newest first. */
export function listAuditEvents(db: Db, organizationId: number, skip: number, take: number) {
  return prismaOf(db).auditEvent.findMany({ where: { organizationId }, orderBy: { id: 'desc' }, skip, take });
}
