/**
 * Account & Settings (`/account`): the user's personal access tokens (create, rotate, revoke)
 * and legacy token (reset). A new secret is shown once, in "Token created", and lives only in
 * this page's state until that dialog closes.
 */
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { Field, fieldErrors, FormError } from '../components/Field';
import { Loading, Page } from '../components/Page';
import { RelativeTime } from '../components/RelativeTime';
import { RoleSelect } from '../components/RoleSelect';
import { Table } from '../components/Table';
import { TokenCreatedDialog, type CreatedToken } from '../components/TokenCreatedDialog';
import { useAnnouncement, useResource, useSubmit } from '../hooks';
import { Link } from '../router';
import { roleLabel, type Role } from '../roles';
import { useSession } from '../session';
import type { paths } from '../../../packages/client/src/openapi';

type Pat = paths['/api/token']['get']['responses'][200]['content']['application/json'][number];
type Settings = paths['/api/jwt/settings']['get']['responses'][200]['content']['application/json'];

export function AccountPage() {
  const session = useSession();
  const settings = useResource(() => ok(api.GET('/api/jwt/settings')), []);
  const [created, setCreated] = useState<CreatedToken | null>(null);

  return (
    <Page title="Account & Settings">
      <p className="lead">
        Signed in as <strong>{session.user.email}</strong>
        {session.organizationTitle && (
          <>
            {' '}
            in <strong>{session.organizationTitle}</strong>
          </>
        )}{' '}
        as {roleLabel(session.role).toLowerCase()}.
      </p>
      {settings.error !== undefined && !settings.data && <LoadError error={settings.error} />}
      {settings.data ? (
        <>
          <PersonalAccessTokens settings={settings.data} onCreated={setCreated} />
          <LegacyToken settings={settings.data} onCreated={setCreated} />
        </>
      ) : (
        settings.error === undefined && <Loading />
      )}
      {created && <TokenCreatedDialog created={created} onDone={() => setCreated(null)} />}
    </Page>
  );
}

function LoadError({ error }: { readonly error: unknown }) {
  return <FormError error={error} fields={[]} />;
}

type Pending = { readonly action: 'rotate' | 'revoke'; readonly pat: Pat } | { readonly action: 'create' } | null;

function PersonalAccessTokens({
  settings,
  onCreated,
}: {
  readonly settings: Settings;
  readonly onCreated: (created: CreatedToken) => void;
}) {
  const session = useSession();
  const pats = useResource(() => ok(api.GET('/api/token')), []);
  const [pending, setPending] = useState<Pending>(null);
  const announcement = useAnnouncement();
  const enabled = settings.api_tokens_enabled;

  const rotate = async (pat: Pat) => {
    const answer = await ok(api.POST('/api/token/{id}/rotate', { params: { path: { id: String(pat.id) } } }));
    setPending(null);
    pats.reload();
    onCreated({ kind: 'pat', token: answer.token, name: answer.name });
  };
  const revoke = async (pat: Pat) => {
    await ok(api.DELETE('/api/token/{id}', { params: { path: { id: String(pat.id) } } }));
    setPending(null);
    announcement.say(`“${pat.name}” was revoked.`);
    pats.reload();
  };

  return (
    <section aria-labelledby="pats-heading">
      <div className="section-head">
        <h2 id="pats-heading" ref={announcement.target} tabIndex={-1}>
          Personal access tokens
        </h2>
        {enabled && (
          <button type="button" className="primary" onClick={() => setPending({ action: 'create' })}>
            Create token
          </button>
        )}
      </div>
      <p>
        A personal access token lets a script or the Label Studio SDK act as you. It is exchanged at{' '}
        <code>/api/token/refresh</code> for short-lived access tokens, and works until it expires or you revoke it.
      </p>
      {!enabled && (
        <p className="notice">
          Personal access tokens are disabled for this organization, so you cannot create or rotate one; the ones below
          do not work meanwhile.{' '}
          {session.admin ? (
            <>
              You can enable them in the <Link to="/organization/settings">organization’s token settings</Link>.
            </>
          ) : (
            'An organization owner or administrator must enable them.'
          )}
        </p>
      )}
      <p role="status" className="hint">
        {announcement.text}
      </p>
      {pats.error !== undefined && <LoadError error={pats.error} />}
      {pats.data ? (
        <Table
          caption="Your personal access tokens"
          rows={pats.data}
          rowKey={(pat) => pat.id}
          empty="You have no personal access tokens."
          columns={[
            { header: 'Name', cell: (pat) => pat.name },
            { header: 'Role', cell: (pat) => roleLabel(pat.role) },
            { header: 'Created', cell: (pat) => <RelativeTime value={pat.created_at} /> },
            { header: 'Expires', cell: (pat) => <RelativeTime value={pat.expires_at} /> },
            { header: 'Last used', cell: (pat) => <RelativeTime value={pat.last_used_at} /> },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (pat) => (
                <div className="row-actions">
                  {enabled && (
                    <button type="button" onClick={() => setPending({ action: 'rotate', pat })}>
                      Rotate
                    </button>
                  )}
                  <button type="button" className="danger-text" onClick={() => setPending({ action: 'revoke', pat })}>
                    Revoke
                  </button>
                </div>
              ),
            },
          ]}
        />
      ) : (
        pats.error === undefined && <Loading />
      )}

      {pending?.action === 'create' && (
        <CreateTokenDialog
          maxDays={settings.api_token_ttl_days}
          onClose={() => setPending(null)}
          onCreated={(token) => {
            setPending(null);
            pats.reload();
            onCreated(token);
          }}
        />
      )}
      {pending?.action === 'rotate' && (
        <ConfirmDialog
          title="Rotate token"
          action="Rotate"
          danger={false}
          onConfirm={() => rotate(pending.pat)}
          onClose={() => setPending(null)}
        >
          <p>
            Rotating “{pending.pat.name}” revokes it at once and creates its successor, with the same name, role and
            lifetime. Whatever uses it must be given the new token.
          </p>
        </ConfirmDialog>
      )}
      {pending?.action === 'revoke' && (
        <ConfirmDialog
          title="Revoke token"
          action="Revoke"
          onConfirm={() => revoke(pending.pat)}
          onClose={() => setPending(null)}
        >
          <p>
            Revoke “{pending.pat.name}”? It stops working at once, as do the access tokens obtained with it. This cannot
            be undone.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateTokenDialog({
  maxDays,
  onClose,
  onCreated,
}: {
  readonly maxDays: number;
  readonly onClose: () => void;
  readonly onCreated: (created: CreatedToken) => void;
}) {
  const session = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>(session.role);
  const [days, setDays] = useState('');
  const { busy, error, run } = useSubmit();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const answer = await ok(
        api.POST('/api/token', {
          body: { ...(name.trim() ? { name } : {}), role, ...(days.trim() ? { expires_in_days: days } : {}) },
        }),
      );
      onCreated({ kind: 'pat', token: answer.token, name: answer.name });
    });
  };

  return (
    <Dialog title="Create token" onClose={onClose}>
      <form onSubmit={submit} noValidate className="form">
        <FormError error={error} fields={['name', 'role', 'expires_in_days']} />
        <Field
          label="Name"
          description="What the token is for, e.g. “laptop” or “nightly export”."
          errors={fieldErrors(error, 'name')}
        >
          {(props) => (
            <input
              {...props}
              type="text"
              maxLength={100}
              autoComplete="off"
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          )}
        </Field>
        <Field
          label="Role"
          description="What the token may do: your role or a lower one."
          errors={fieldErrors(error, 'role')}
        >
          {(props) => <RoleSelect {...props} value={role} onChange={setRole} />}
        </Field>
        <Field
          label="Expires in (days)"
          description={`At most ${maxDays.toLocaleString()} days, this organization’s maximum; leave it empty for the maximum.`}
          errors={fieldErrors(error, 'expires_in_days')}
        >
          {(props) => (
            <input
              {...props}
              type="number"
              inputMode="numeric"
              min={1}
              max={maxDays}
              step={1}
              value={days}
              onChange={(event) => setDays(event.target.value)}
            />
          )}
        </Field>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function LegacyToken({
  settings,
  onCreated,
}: {
  readonly settings: Settings;
  readonly onCreated: (created: CreatedToken) => void;
}) {
  const session = useSession();
  const enabled = settings.legacy_api_tokens_enabled;
  return (
    <section aria-labelledby="legacy-heading">
      <h2 id="legacy-heading">Legacy token</h2>
      {enabled ? (
        <LegacyTokenDetails onCreated={onCreated} />
      ) : (
        <p className="notice">
          Legacy tokens are disabled for this organization.{' '}
          {session.admin ? (
            <>
              An organization admin must enable them first: you can, in the{' '}
              <Link to="/organization/settings">organization’s token settings</Link>.
            </>
          ) : (
            'An organization owner or administrator must enable them before you can use one.'
          )}
        </p>
      )}
    </section>
  );
}

function LegacyTokenDetails({ onCreated }: { readonly onCreated: (created: CreatedToken) => void }) {
  const legacy = useResource(() => ok(api.GET('/api/current-user/token')), []);
  const [confirming, setConfirming] = useState(false);

  const reset = async () => {
    const answer = await ok(api.POST('/api/current-user/reset-token'));
    setConfirming(false);
    legacy.reload();
    onCreated({ kind: 'legacy', token: answer.token, name: '' });
  };

  if (legacy.error !== undefined && !legacy.data) return <LoadError error={legacy.error} />;
  if (!legacy.data) return <Loading />;
  const { hint, created_at } = legacy.data;
  return (
    <>
      <p>
        A legacy token is Label Studio’s older kind of key, sent as <code>Authorization: Token …</code>. It never
        expires: prefer a personal access token where the client supports one.
      </p>
      {hint ? (
        <dl className="facts">
          <dt>Token</dt>
          <dd>
            <code>{hint}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <RelativeTime value={created_at} none="Unknown" />
          </dd>
        </dl>
      ) : (
        <p>You have no legacy token yet.</p>
      )}
      <button type="button" onClick={() => setConfirming(true)}>
        Reset token
      </button>
      {confirming && (
        <ConfirmDialog
          title="Reset legacy token"
          action="Reset token"
          onConfirm={reset}
          onClose={() => setConfirming(false)}
        >
          <p>
            {hint
              ? 'Your current legacy token stops working at once, and a new one is created and shown once.'
              : 'A new legacy token is created and shown once.'}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
