/**
 * Organization → Audit log (`/organization/audit`, owners and administrators): what happened in
 * the organization, newest first, paged, filtered by action and by actor.
 */
import { useState } from 'react';
import { api, ok } from '../api';
import { Field, FormError } from '../components/Field';
import { Loading, NotAllowed, Page } from '../components/Page';
import { RelativeTime } from '../components/RelativeTime';
import { Pager, Table } from '../components/Table';
import { useResource } from '../hooks';
import { useSession } from '../session';
import { useMembers } from './members';
import type { paths } from '../../../packages/client/src/openapi';

type AuditEvents = paths['/api/organizations/{id}/audit-events']['get'];
type AuditEvent = AuditEvents['responses'][200]['content']['application/json']['results'][number];
type Action = NonNullable<NonNullable<AuditEvents['parameters']['query']>['action']>;

const PAGE_SIZE = 50;

/** Every action the server records, in words (the compiler checks that none is missing). */
const ACTIONS: Record<Action, string> = {
  'pat.created': 'Personal access token created',
  'pat.rotated': 'Personal access token rotated',
  'pat.revoked': 'Personal access token revoked',
  'pat.family_revoked': 'Rotation family revoked (reuse)',
  'pat.refused_after_revoke': 'Revoked token presented',
  'legacy_token.created': 'Legacy token created',
  'legacy_token.revoked': 'Legacy token revoked',
  'settings.updated': 'Token settings changed',
  'membership.created': 'Member added or invited',
  'membership.updated': 'Member’s role changed',
  'membership.deleted': 'Member removed',
  'membership.accepted': 'Invitation accepted',
  'membership.declined': 'Invitation declined',
  'organization.created': 'Organization created',
  'user.profile_updated': 'Profile changed',
  'user.active_organization_changed': 'Active organization changed',
  'session.created': 'Logged in',
  'session.ended': 'Logged out',
};

const text = (value: unknown): string =>
  Array.isArray(value)
    ? value.map(text).join(', ')
    : typeof value === 'object' && value
      ? JSON.stringify(value)
      : String(value);

/** An event's details in one line, as text: `role: annotator → reviewer; via: api`. */
function detailsOf(details: unknown): string {
  if (typeof details !== 'object' || details === null) return details == null ? '' : text(details);
  const { old: before, new: after, ...rest } = details as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof after === 'object' && after !== null) {
    const previous = (typeof before === 'object' && before !== null ? before : {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(after)) parts.push(`${key}: ${text(previous[key])} → ${text(value)}`);
  }
  for (const [key, value] of Object.entries(rest)) parts.push(`${key}: ${text(value)}`);
  return parts.join('; ');
}

const actionLabel = (action: string) => (Object.hasOwn(ACTIONS, action) ? ACTIONS[action as Action] : action);

export function AuditPage() {
  const session = useSession();
  return (
    <Page title="Audit log">
      {session.admin ? <AuditLog /> : <NotAllowed>Only owners and administrators can see the audit log.</NotAllowed>}
    </Page>
  );
}

function AuditLog() {
  const session = useSession();
  const members = useMembers();
  const [action, setAction] = useState<Action | ''>('');
  const [actor, setActor] = useState('');
  const [page, setPage] = useState(1);

  const events = useResource(
    () =>
      ok(
        api.GET('/api/organizations/{id}/audit-events', {
          params: {
            path: { id: String(session.organizationId) },
            query: {
              page: String(page),
              page_size: String(PAGE_SIZE),
              ...(action ? { action } : {}),
              ...(actor ? { actor_user_id: actor } : {}),
            },
          },
        }),
      ),
    [action, actor, page],
  );

  const emails = new Map(members.map((member) => [member.user_id, member.email]));
  const actorOf = (event: AuditEvent) =>
    event.actor_email ??
    (event.actor_user_id === null ? 'Latchkey' : (emails.get(event.actor_user_id) ?? `User ${event.actor_user_id}`));
  const targetOf = (event: AuditEvent) =>
    [event.target_type, event.target_id].filter((part) => part !== null && part !== '').join(' ');

  return (
    <>
      <p>
        Who created, rotated or revoked a token, changed settings or members, logged in or out, and from where. Newest
        first.
      </p>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <Field label="Action">
          {(props) => (
            <select
              {...props}
              value={action}
              onChange={(event) => {
                setAction(event.target.value as Action | '');
                setPage(1);
              }}
            >
              <option value="">All actions</option>
              {Object.entries(ACTIONS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Actor">
          {(props) => (
            <select
              {...props}
              value={actor}
              onChange={(event) => {
                setActor(event.target.value);
                setPage(1);
              }}
            >
              <option value="">Everyone</option>
              {members.map((member) => (
                <option key={member.user_id} value={String(member.user_id)}>
                  {member.email}
                </option>
              ))}
            </select>
          )}
        </Field>
      </form>
      <p role="status" className="hint">
        {events.data ? `${events.data.count} ${events.data.count === 1 ? 'event' : 'events'}` : ''}
      </p>
      {events.error !== undefined && <FormError error={events.error} fields={[]} />}
      {events.data ? (
        <>
          <Table
            caption="Audit log"
            rows={events.data.results}
            rowKey={(event) => event.id}
            empty="No event matches."
            columns={[
              { header: 'Time', cell: (event) => <RelativeTime value={event.created_at} /> },
              { header: 'Actor', cell: actorOf },
              {
                header: 'Action',
                cell: (event) => (
                  <>
                    {actionLabel(event.action)}
                    <span className="hint block mono">{event.action}</span>
                  </>
                ),
              },
              { header: 'Target', cell: targetOf, wrap: true },
              { header: 'Details', cell: (event) => detailsOf(event.details), wrap: true },
              { header: 'IP address', cell: (event) => event.ip ?? '' },
            ]}
          />
          <Pager page={page} count={events.data.count} pageSize={PAGE_SIZE} onPage={setPage} />
        </>
      ) : (
        events.error === undefined && <Loading />
      )}
    </>
  );
}
