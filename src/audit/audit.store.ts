/** The audit trail: append-only rows, written in the same transaction as what they record. */
import { prismaOf, type Db } from '../db/handle';
import type { Prisma } from '../generated/prisma/client';

/** Every action the trail records (the audit log page filters by these). */
export const AUDIT_ACTIONS = [
  'organization.created',
  'settings.updated',
  'membership.created',
  'membership.updated',
  'membership.deleted',
  'membership.accepted',
  'membership.declined',
  'user.active_organization_changed',
  'user.profile_updated',
  'legacy_token.created',
  'legacy_token.revoked',
  'pat.created',
  'pat.rotated',
  'pat.revoked',
  'pat.family_revoked',
  'pat.refused_after_revoke',
  'session.created',
  'session.ended',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

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

/** Which events a listing shows; each absent field is no condition. */
export interface AuditFilter {
  readonly action?: AuditAction | undefined;
  readonly actorUserId?: number | undefined;
}

const eventsOf = (organizationId: number, filter: AuditFilter): Prisma.AuditEventWhereInput => ({
  organizationId,
  ...(filter.action === undefined ? {} : { action: filter.action }),
  ...(filter.actorUserId === undefined ? {} : { actorUserId: filter.actorUserId }),
});

export function countAuditEvents(db: Db, organizationId: number, filter: AuditFilter): Promise<number> {
  return prismaOf(db).auditEvent.count({ where: eventsOf(organizationId, filter) });
}

/**
 * Newest first, each with its actor's email (null for none, or once the user is gone: the
 * trail keeps no foreign key, so it outlives whom it names).
 */
export async function listAuditEvents(db: Db, organizationId: number, filter: AuditFilter, skip: number, take: number) {
  const events = await prismaOf(db).auditEvent.findMany({
    where: eventsOf(organizationId, filter),
    orderBy: { id: 'desc' },
    skip,
    take,
  });
  const actorIds = [...new Set(events.flatMap((event) => (event.actorUserId === null ? [] : [event.actorUserId])))];
  const actors = actorIds.length
    ? await prismaOf(db).user.findMany({ where: { id: { in: actorIds } }, select: { id: true, email: true } })
    : [];
  const emails = new Map(actors.map((actor) => [actor.id, actor.email]));
  return events.map((event) => ({
    ...event,
    actorEmail: event.actorUserId === null ? null : (emails.get(event.actorUserId) ?? null),
  }));
}
