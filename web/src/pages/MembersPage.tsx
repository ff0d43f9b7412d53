/**
 * Organization → Members (`/organization/members`, owners and administrators): who belongs to
 * the organization and with which role; invite by email, change a role, remove. Roles follow
 * the server's rule: an admin hands out and manages roles up to their own.
 */
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { Field, fieldErrors, FormError } from '../components/Field';
import { Loading, NotAllowed, Page } from '../components/Page';
import { RelativeTime } from '../components/RelativeTime';
import { RoleSelect } from '../components/RoleSelect';
import { Pager, Table } from '../components/Table';
import { useAnnouncement, useResource, useSubmit } from '../hooks';
import { atLeast, roleLabel, type Role } from '../roles';
import { useSession } from '../session';
import type { Membership } from './members';

const PAGE_SIZE = 50;

export function MembersPage() {
  const session = useSession();
  return (
    <Page title="Members">
      {session.admin ? <Members /> : <NotAllowed>Only owners and administrators can see the members.</NotAllowed>}
    </Page>
  );
}

type Pending = { readonly action: 'role' | 'remove'; readonly member: Membership } | null;

function Members() {
  const session = useSession();
  const [page, setPage] = useState(1);
  const [pending, setPending] = useState<Pending>(null);
  const [status, setStatus] = useState('');
  // A removed member's row is gone, and with it the focus: it moves to the list's heading.
  const removal = useAnnouncement();
  const id = String(session.organizationId);
  const members = useResource(
    () =>
      ok(
        api.GET('/api/organizations/{id}/memberships', {
          params: { path: { id }, query: { page: String(page), page_size: String(PAGE_SIZE) } },
        }),
      ),
    [page],
  );

  const remove = async (member: Membership) => {
    await ok(
      api.DELETE('/api/organizations/{id}/memberships/{userId}', {
        params: { path: { id, userId: String(member.user_id) } },
      }),
    );
    setPending(null);
    setStatus('');
    removal.say(`${member.email} was removed.`);
    members.reload();
  };

  const manageable = (member: Membership) => atLeast(session.role, member.role);
  const name = (member: Membership) => [member.first_name, member.last_name].filter(Boolean).join(' ');

  return (
    <>
      <InviteForm
        onInvited={(message) => {
          setStatus(message);
          members.reload();
        }}
      />
      <h2 ref={removal.target} tabIndex={-1}>
        People
      </h2>
      <p role="status" className="hint">
        {status || removal.text}
      </p>
      {members.error !== undefined && <FormError error={members.error} fields={[]} />}
      {members.data ? (
        <>
          <Table
            caption="Members"
            rows={members.data.results}
            rowKey={(member) => member.user_id}
            empty="No members."
            columns={[
              {
                header: 'Email',
                cell: (member) => (
                  <>
                    {member.email}
                    {member.user_id === session.user.id && <span className="hint"> (you)</span>}
                  </>
                ),
              },
              { header: 'Name', cell: (member) => name(member) },
              { header: 'Role', cell: (member) => roleLabel(member.role) },
              {
                header: 'Status',
                cell: (member) =>
                  member.status === 'pending' ? 'Invited' : member.is_active ? 'Active' : 'Deactivated',
              },
              { header: 'Joined', cell: (member) => <RelativeTime value={member.created_at} /> },
              {
                header: 'Last active',
                cell: (member) => <RelativeTime value={member.user.last_activity} />,
              },
              {
                header: 'Actions',
                hiddenHeader: true,
                cell: (member) =>
                  manageable(member) && (
                    <div className="row-actions">
                      <button type="button" onClick={() => setPending({ action: 'role', member })}>
                        Change role
                      </button>
                      <button
                        type="button"
                        className="danger-text"
                        onClick={() => setPending({ action: 'remove', member })}
                      >
                        Remove
                      </button>
                    </div>
                  ),
              },
            ]}
          />
          <Pager page={page} count={members.data.count} pageSize={PAGE_SIZE} onPage={setPage} />
        </>
      ) : (
        members.error === undefined && <Loading />
      )}
      {pending?.action === 'role' && (
        <ChangeRoleDialog
          member={pending.member}
          onClose={() => setPending(null)}
          onChanged={(role) => {
            setPending(null);
            setStatus(`${pending.member.email} is now ${roleLabel(role).toLowerCase()}.`);
            members.reload();
          }}
        />
      )}
      {pending?.action === 'remove' && (
        <ConfirmDialog
          title="Remove member"
          action="Remove"
          onConfirm={() => remove(pending.member)}
          onClose={() => setPending(null)}
        >
          <p>
            {pending.member.status === 'pending'
              ? `Withdraw the invitation of ${pending.member.email}?`
              : `Remove ${pending.member.email} from the organization? Their tokens for this organization stop working at once.`}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function InviteForm({ onInvited }: { readonly onInvited: (message: string) => void }) {
  const session = useSession();
  const initial = { email: '', role: 'annotator' as Role, password: '' };
  const [values, setValues] = useState(initial);
  const { busy, error, run } = useSubmit();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const answer = await ok(
        api.POST('/api/organizations/{id}/memberships', {
          params: { path: { id: String(session.organizationId) } },
          body: {
            email: values.email,
            role: values.role,
            ...(values.password ? { password: values.password } : {}),
          },
        }),
      );
      setValues(initial);
      onInvited(
        answer.status === 'pending'
          ? `${answer.email} was invited as ${roleLabel(answer.role).toLowerCase()}: they join once they accept.`
          : `${answer.email} was added as ${roleLabel(answer.role).toLowerCase()}.`,
      );
    });
  };

  return (
    <section aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite a member</h2>
      <form onSubmit={submit} noValidate className="form inline-form">
        <FormError error={error} fields={['email', 'role', 'password']} />
        <Field label="Email" errors={fieldErrors(error, 'email')}>
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="off"
              required
              value={values.email}
              onChange={(event) => setValues({ ...values, email: event.target.value })}
            />
          )}
        </Field>
        <Field label="Role" errors={fieldErrors(error, 'role')}>
          {(props) => <RoleSelect {...props} value={values.role} onChange={(role) => setValues({ ...values, role })} />}
        </Field>
        <Field
          label="Password for a new account"
          description="Only for an email that has no account yet: it creates one with this password (8 characters or more). Someone who already has an account is invited, and joins once they accept."
          errors={fieldErrors(error, 'password')}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={values.password}
              onChange={(event) => setValues({ ...values, password: event.target.value })}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Invite
          </button>
        </div>
      </form>
    </section>
  );
}

function ChangeRoleDialog({
  member,
  onClose,
  onChanged,
}: {
  readonly member: Membership;
  readonly onClose: () => void;
  readonly onChanged: (role: Role) => void;
}) {
  const session = useSession();
  const [role, setRole] = useState<Role>(member.role);
  const { busy, error, run } = useSubmit();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await ok(
        api.PATCH('/api/organizations/{id}/memberships/{userId}', {
          params: { path: { id: String(session.organizationId), userId: String(member.user_id) } },
          body: { role },
        }),
      );
      onChanged(role);
    });
  };

  return (
    <Dialog title="Change role" onClose={onClose}>
      <form onSubmit={submit} noValidate className="form">
        <p>
          {member.email} is {roleLabel(member.role).toLowerCase()}. A lower role takes effect on their next request, for
          their tokens too.
        </p>
        <FormError error={error} fields={['role']} />
        <Field label="New role" errors={fieldErrors(error, 'role')}>
          {(props) => <RoleSelect {...props} value={role} onChange={setRole} />}
        </Field>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Change role
          </button>
        </div>
      </form>
    </Dialog>
  );
}
