/**
 * Organization → Settings → Access Token Settings (`/organization/settings`): which token types
 * work, and their lifetimes. Switching a type off stops every token of that type at once, so
 * the page first says how many live ones there are and how many were used lately. Members who
 * are not admins see the values, read-only.
 */
import { useState, type FormEvent } from 'react';
import { api, ok } from '../api';
import { ConfirmDialog } from '../components/Dialog';
import { Field, fieldErrors, FormError } from '../components/Field';
import { Loading, Page } from '../components/Page';
import { useResource, useSubmit } from '../hooks';
import { useSession } from '../session';
import type { paths } from '../../../packages/client/src/openapi';

type Settings = paths['/api/jwt/settings']['get']['responses'][200]['content']['application/json'];
type Switch = 'api_tokens_enabled' | 'legacy_api_tokens_enabled';

const TYPES: Record<Switch, { readonly type: 'pat' | 'legacy'; readonly noun: string }> = {
  api_tokens_enabled: { type: 'pat', noun: 'personal access token' },
  legacy_api_tokens_enabled: { type: 'legacy', noun: 'legacy token' },
};

const DAY_MS = 24 * 3600 * 1000;

interface Impact {
  readonly noun: string;
  readonly live: number;
  readonly recent: number;
}

export function SettingsPage() {
  const settings = useResource(() => ok(api.GET('/api/jwt/settings')), []);
  return (
    <Page title="Access Token Settings">
      {settings.data ? (
        <SettingsForm saved={settings.data} onSaved={settings.reload} />
      ) : settings.error !== undefined ? (
        <FormError error={settings.error} fields={[]} />
      ) : (
        <Loading />
      )}
    </Page>
  );
}

function SettingsForm({ saved, onSaved }: { readonly saved: Settings; readonly onSaved: () => void }) {
  const session = useSession();
  const [values, setValues] = useState({
    api_tokens_enabled: saved.api_tokens_enabled,
    legacy_api_tokens_enabled: saved.legacy_api_tokens_enabled,
    api_token_ttl_days: String(saved.api_token_ttl_days),
    access_token_ttl_seconds: String(saved.access_token_ttl_seconds),
  });
  const [impact, setImpact] = useState<Impact[] | null>(null);
  const [status, setStatus] = useState('');
  const { busy, error, run } = useSubmit();
  const readOnly = !session.admin;

  /** What differs from what is saved: the body of the POST. */
  const changes = () => {
    const body: Record<string, boolean | string> = {};
    if (values.api_tokens_enabled !== saved.api_tokens_enabled) body.api_tokens_enabled = values.api_tokens_enabled;
    if (values.legacy_api_tokens_enabled !== saved.legacy_api_tokens_enabled)
      body.legacy_api_tokens_enabled = values.legacy_api_tokens_enabled;
    if (values.api_token_ttl_days.trim() !== String(saved.api_token_ttl_days))
      body.api_token_ttl_days = values.api_token_ttl_days.trim();
    if (values.access_token_ttl_seconds.trim() !== String(saved.access_token_ttl_seconds))
      body.access_token_ttl_seconds = values.access_token_ttl_seconds.trim();
    return body;
  };

  const count = async (type: 'pat' | 'legacy', usedSince?: string) => {
    const page = await ok(
      api.GET('/api/organizations/{id}/tokens', {
        params: {
          path: { id: String(session.organizationId) },
          query: { type, status: 'live', page_size: '1', ...(usedSince ? { used_since: usedSince } : {}) },
        },
      }),
    );
    return page.count;
  };

  const save = async () => {
    await ok(api.POST('/api/jwt/settings', { body: changes() }));
    setImpact(null);
    setStatus('Settings saved.');
    onSaved();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setStatus('');
    void run(async () => {
      if (Object.keys(changes()).length === 0) {
        setStatus('Nothing to save: the settings are unchanged.');
        return;
      }
      const stopping = (Object.keys(TYPES) as Switch[]).filter((key) => saved[key] && !values[key]);
      if (stopping.length === 0) return save();
      const since = new Date(Date.now() - 30 * DAY_MS).toISOString();
      setImpact(
        await Promise.all(
          stopping.map(async (key) => {
            const { type, noun } = TYPES[key];
            const [live, recent] = await Promise.all([count(type), count(type, since)]);
            return { noun, live, recent };
          }),
        ),
      );
    });
  };

  const number = (field: 'api_token_ttl_days' | 'access_token_ttl_seconds') => ({
    value: values[field],
    onChange: (event: { target: { value: string } }) => setValues({ ...values, [field]: event.target.value }),
  });
  const toggle = (field: Switch) => ({
    checked: values[field],
    onChange: (event: { target: { checked: boolean } }) => setValues({ ...values, [field]: event.target.checked }),
  });

  return (
    <>
      <p>
        Which kinds of token work in this organization, and how long they last.{' '}
        {readOnly && <strong>Only owners and administrators can change these settings.</strong>}
      </p>
      <form onSubmit={submit} noValidate className="form">
        <FormError error={error} fields={Object.keys(values)} />
        <fieldset disabled={readOnly}>
          <legend>Token types</legend>
          <Field
            inline
            label="Personal access tokens"
            description="Long-lived tokens that users create for scripts and the SDK. Switched off, they stop working at once (and work again when switched back on)."
            errors={fieldErrors(error, 'api_tokens_enabled')}
          >
            {(props) => <input {...props} type="checkbox" role="switch" {...toggle('api_tokens_enabled')} />}
          </Field>
          <Field
            inline
            label="Legacy tokens"
            description="Label Studio’s older, non-expiring keys (Authorization: Token …). Keep them off unless old clients need them."
            errors={fieldErrors(error, 'legacy_api_tokens_enabled')}
          >
            {(props) => <input {...props} type="checkbox" role="switch" {...toggle('legacy_api_tokens_enabled')} />}
          </Field>
        </fieldset>
        <fieldset disabled={readOnly}>
          <legend>Lifetimes</legend>
          <Field
            label="Personal access token time-to-live (days)"
            description="The longest lifetime a new personal access token may have: 1 to 73,000 days."
            errors={fieldErrors(error, 'api_token_ttl_days')}
          >
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="numeric"
                min={1}
                max={73000}
                step={1}
                {...number('api_token_ttl_days')}
              />
            )}
          </Field>
          <Field
            label="Access token lifetime (seconds)"
            description="How long an access token from a refresh or a login lasts: 30 to 3,600 seconds."
            errors={fieldErrors(error, 'access_token_ttl_seconds')}
          >
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="numeric"
                min={30}
                max={3600}
                step={1}
                {...number('access_token_ttl_seconds')}
              />
            )}
          </Field>
        </fieldset>
        {!readOnly && (
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
          </div>
        )}
        <p role="status" className="hint">
          {status}
        </p>
      </form>
      {impact && (
        <ConfirmDialog title="Switch off tokens" action="Save" onConfirm={save} onClose={() => setImpact(null)}>
          {impact.map(({ noun, live, recent }) => (
            <p key={noun}>
              Switching off {noun}s stops the organization’s <strong>{live}</strong> live{' '}
              {live === 1 ? noun : `${noun}s`} at once; <strong>{recent}</strong> of them{' '}
              {recent === 1 ? 'was' : 'were'} used in the last 30 days.
            </p>
          ))}
          <p>They work again if you switch them back on. Save anyway?</p>
        </ConfirmDialog>
      )}
    </>
  );
}
