/**
 * Organization → API keys (`/organization/api-keys`, owners and administrators): every personal
 * access token and legacy token of the organization (metadata only: no secret is stored),
 * filtered by owner, type and status, each revocable.
 */
import { useState } from 'react';
import { api, ok } from '../api';
import { ConfirmDialog } from '../components/Dialog';
import { Field, FormError } from '../components/Field';
import { Loading, NotAllowed, Page } from '../components/Page';
import { RelativeTime } from '../components/RelativeTime';
import { Pager, Table } from '../components/Table';
import { useAnnouncement, useResource } from '../hooks';
import { roleLabel } from '../roles';
import { useSession } from '../session';
import { useMembers } from './members';
import type { paths } from '../../../packages/client/src/openapi';

type Inventory = paths['/api/organizations/{id}/tokens']['get']['responses'][200]['content']['application/json'];
type Key = Inventory['results'][number];

const PAGE_SIZE = 50;
const TYPE_LABELS = { pat: 'Personal access token', legacy: 'Legacy token' } as const;
const REVOKED_REASONS = { revoked: 'Revoked', rotated: 'Rotated', reuse: 'Revoked (reused after rotation)' } as const;

export function ApiKeysPage() {
  const session = useSession();
  return (
    <Page title="API keys">
      {session.admin ? <ApiKeys /> : <NotAllowed>Only owners and administrators can see API keys.</NotAllowed>}
    </Page>
  );
}

function ApiKeys() {
  const session = useSession();
  const members = useMembers();
  const [owner, setOwner] = useState('');
  const [type, setType] = useState<'' | 'pat' | 'legacy'>('');
  const [status, setStatus] = useState<'live' | 'revoked' | ''>('live');
  const [page, setPage] = useState(1);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const announcement = useAnnouncement();

  const keys = useResource(
    () =>
      ok(
        api.GET('/api/organizations/{id}/tokens', {
          params: {
            path: { id: String(session.organizationId) },
            query: {
              page: String(page),
              page_size: String(PAGE_SIZE),
              ...(owner ? { user_id: owner } : {}),
              ...(type ? { type } : {}),
              ...(status ? { status } : {}),
            },
          },
        }),
      ),
    [owner, type, status, page],
  );

  const revoke = async (key: Key) => {
    await ok(
      api.DELETE('/api/organizations/{id}/tokens/{type}/{tokenId}', {
        params: { path: { id: String(session.organizationId), type: key.type, tokenId: String(key.id) } },
      }),
    );
    setRevoking(null);
    announcement.say(`“${key.name}” of ${key.email} was revoked.`);
    keys.reload();
  };

  const filter =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setPage(1);
    };

  const count = keys.data?.count;
  return (
    <>
      <p>
        Every personal access token and legacy token in the organization. Latchkey stores no secret, so none can be
        shown; revoking one stops it, and the access tokens obtained with it, at once.
      </p>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <Field label="Owner">
          {(props) => (
            <select {...props} value={owner} onChange={(event) => filter(setOwner)(event.target.value)}>
              <option value="">Everyone</option>
              {members.map((member) => (
                <option key={member.user_id} value={String(member.user_id)}>
                  {member.email}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Type">
          {(props) => (
            <select
              {...props}
              value={type}
              onChange={(event) => filter(setType)(event.target.value as '' | 'pat' | 'legacy')}
            >
              <option value="">All types</option>
              <option value="pat">Personal access tokens</option>
              <option value="legacy">Legacy tokens</option>
            </select>
          )}
        </Field>
        <Field label="Status">
          {(props) => (
            <select
              {...props}
              value={status}
              onChange={(event) => filter(setStatus)(event.target.value as '' | 'live' | 'revoked')}
            >
              <option value="live">Live</option>
              <option value="revoked">Revoked</option>
              <option value="">All</option>
            </select>
          )}
        </Field>
      </form>
      <h2 className="visually-hidden" ref={announcement.target} tabIndex={-1}>
        Tokens
      </h2>
      <p role="status" className="hint">
        {[announcement.text, count === undefined ? '' : `${count} ${count === 1 ? 'token' : 'tokens'}.`]
          .filter(Boolean)
          .join(' ')}
      </p>
      {keys.error !== undefined && <FormError error={keys.error} fields={[]} />}
      {keys.data ? (
        <>
          <Table
            caption="API keys"
            rows={keys.data.results}
            rowKey={(key) => `${key.type}-${key.id}`}
            empty="No token matches."
            columns={[
              {
                header: 'Name',
                cell: (key) => (
                  <>
                    {key.name}
                    {key.hint && <span className="hint block mono">{key.hint}</span>}
                  </>
                ),
              },
              { header: 'Owner', cell: (key) => key.email },
              { header: 'Type', cell: (key) => TYPE_LABELS[key.type] },
              { header: 'Role', cell: (key) => (key.role ? roleLabel(key.role) : 'None') },
              { header: 'Created', cell: (key) => <RelativeTime value={key.created_at} /> },
              { header: 'Last used', cell: (key) => <RelativeTime value={key.last_used_at} /> },
              { header: 'Expires', cell: (key) => <RelativeTime value={key.expires_at} /> },
              {
                header: 'Actions',
                hiddenHeader: true,
                cell: (key) =>
                  key.revoked_at ? (
                    <span>
                      {REVOKED_REASONS[key.revoked_reason ?? 'revoked']} <RelativeTime value={key.revoked_at} />
                    </span>
                  ) : (
                    <button type="button" className="danger-text" onClick={() => setRevoking(key)}>
                      Revoke
                    </button>
                  ),
              },
            ]}
          />
          <Pager page={page} count={keys.data.count} pageSize={PAGE_SIZE} onPage={setPage} />
        </>
      ) : (
        keys.error === undefined && <Loading />
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke token"
          action="Revoke"
          onConfirm={() => revoke(revoking)}
          onClose={() => setRevoking(null)}
        >
          <p>
            Revoke {TYPE_LABELS[revoking.type].toLowerCase()} “{revoking.name}” of {revoking.email}? It stops working at
            once. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
