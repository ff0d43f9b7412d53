/**
 * "Sign in" (`/login`), or, while Latchkey has no user at all, the form that creates the first
 * owner. The setup code may come in the address's fragment (`/login#setup=<code>`, the link the
 * server logs at start-up): the fragment never reaches the server, and the page removes it from
 * the address bar and the history at once.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, ok } from '../api';
import { Field, fieldErrors, FormError } from '../components/Field';
import { Loading, Page } from '../components/Page';
import { useResource, useSubmit } from '../hooks';
import { useLocation } from '../router';

type SignedIn = (from: string | undefined) => Promise<void>;

function setupCodeInAddress(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get('setup') ?? '';
}

export function LoginPage({ onSignedIn }: { readonly onSignedIn: SignedIn }) {
  const { state } = useLocation();
  const [setupCode, setSetupCode] = useState(setupCodeInAddress);
  const [notice, setNotice] = useState(state.notice);

  // Take the code out of the address (also when the link is opened on this page: a fragment change).
  useEffect(() => {
    const take = () => {
      const code = setupCodeInAddress();
      if (code) setSetupCode(code);
      if (window.location.hash) {
        window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
      }
    };
    take();
    window.addEventListener('hashchange', take);
    return () => window.removeEventListener('hashchange', take);
  }, []);
  useEffect(() => setNotice(state.notice), [state.notice]);

  // An older server without /api/setup, or any failure: the ordinary sign-in form.
  const setup = useResource(() => ok(api.GET('/api/setup')).catch(() => ({ first_owner_needed: false })), []);

  if (!setup.data) return <Loading />;
  if (setup.data.first_owner_needed) {
    return (
      <FirstOwnerForm
        key={setupCode}
        initialCode={setupCode}
        onSignedIn={onSignedIn}
        onAlreadySetUp={(message) => {
          setNotice(message);
          setup.reload();
        }}
      />
    );
  }
  return <SignInForm notice={notice} from={state.from} onSignedIn={onSignedIn} />;
}

function SignInForm({
  notice,
  from,
  onSignedIn,
}: {
  readonly notice: string | undefined;
  readonly from: string | undefined;
  readonly onSignedIn: SignedIn;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useSubmit();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await ok(api.POST('/api/auth/login', { body: { email, password } }));
      await onSignedIn(from);
    });
  };

  return (
    <Page title="Sign in">
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} noValidate className="form narrow">
        <FormError error={error} fields={['email', 'password']} />
        <Field label="Email" errors={fieldErrors(error, 'email')}>
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(event) => setEmail(event.target.value)}
            />
          )}
        </Field>
        <Field label="Password" errors={fieldErrors(error, 'password')}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Log in
          </button>
        </div>
      </form>
    </Page>
  );
}

function FirstOwnerForm({
  initialCode,
  onSignedIn,
  onAlreadySetUp,
}: {
  readonly initialCode: string;
  readonly onSignedIn: SignedIn;
  readonly onAlreadySetUp: (message: string) => void;
}) {
  const [values, setValues] = useState({
    email: '',
    password: '',
    first_name: '',
    last_name: '',
    organization: '',
    setup_code: initialCode,
  });
  const { busy, error, run } = useSubmit();
  const set = (field: keyof typeof values) => (event: { target: { value: string } }) =>
    setValues({ ...values, [field]: event.target.value });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const { organization, first_name, last_name, ...required } = values;
      try {
        await ok(
          api.POST('/api/setup', {
            body: {
              ...required,
              ...(first_name.trim() ? { first_name } : {}),
              ...(last_name.trim() ? { last_name } : {}),
              ...(organization.trim() ? { organization } : {}),
            },
          }),
        );
      } catch (failure) {
        if (failure instanceof ApiError && failure.code === 'already_set_up') {
          onAlreadySetUp(`${failure.message} Sign in instead.`);
          return;
        }
        throw failure;
      }
      await onSignedIn(undefined);
    });
  };

  const fields = Object.keys(values);
  return (
    <Page title="Create the first owner">
      <p>
        Latchkey has no users yet. Create the first one: they will own a new organization and can invite everyone else.
        The setup code is in the server’s log, in the line that starts “No user yet”.
      </p>
      <form onSubmit={submit} noValidate className="form narrow">
        <FormError error={error} fields={fields} />
        <Field label="Email" errors={fieldErrors(error, 'email')}>
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="username"
              required
              value={values.email}
              onChange={set('email')}
            />
          )}
        </Field>
        <Field label="Password" description="At least 8 characters." errors={fieldErrors(error, 'password')}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              required
              value={values.password}
              onChange={set('password')}
            />
          )}
        </Field>
        <Field label="First name (optional)" errors={fieldErrors(error, 'first_name')}>
          {(props) => (
            <input
              {...props}
              type="text"
              autoComplete="given-name"
              value={values.first_name}
              onChange={set('first_name')}
            />
          )}
        </Field>
        <Field label="Last name (optional)" errors={fieldErrors(error, 'last_name')}>
          {(props) => (
            <input
              {...props}
              type="text"
              autoComplete="family-name"
              value={values.last_name}
              onChange={set('last_name')}
            />
          )}
        </Field>
        <Field
          label="Organization name (optional)"
          description="Default: “My organization”."
          errors={fieldErrors(error, 'organization')}
        >
          {(props) => (
            <input
              {...props}
              type="text"
              autoComplete="organization"
              value={values.organization}
              onChange={set('organization')}
            />
          )}
        </Field>
        <Field label="Setup code" errors={fieldErrors(error, 'setup_code')}>
          {(props) => (
            <input
              {...props}
              type="text"
              autoComplete="off"
              spellCheck={false}
              required
              className="mono"
              value={values.setup_code}
              onChange={set('setup_code')}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create owner
          </button>
        </div>
      </form>
    </Page>
  );
}
