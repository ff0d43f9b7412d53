/**
 * A new secret, shown this once: a read-only field, Copy, and Label Studio's recipe with this
 * server's URL, ready to paste. The secret lives only in the React state of the page that opened
 * the dialog; "Done" (or Escape) clears it there.
 */
import { useState } from 'react';
import { Dialog } from './Dialog';
import { Field } from './Field';

export interface CreatedToken {
  readonly kind: 'pat' | 'legacy';
  readonly token: string;
  readonly name: string;
}

function recipe({ kind, token }: CreatedToken, origin: string): { curl: string; python: string } {
  const python = [
    'from label_studio_sdk.client import LabelStudio',
    '',
    `ls = LabelStudio(base_url='${origin}', api_key='${token}')`,
  ].join('\n');
  if (kind === 'legacy') {
    return { curl: `curl ${origin}/api/current-user/whoami -H 'Authorization: Token ${token}'`, python };
  }
  return {
    curl: `curl -X POST ${origin}/api/token/refresh -H 'Content-Type: application/json' -d '{"refresh": "${token}"}'`,
    python,
  };
}

export function TokenCreatedDialog({
  created,
  onDone,
}: {
  readonly created: CreatedToken;
  readonly onDone: () => void;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>();
  const { curl, python } = recipe(created, window.location.origin);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <Dialog title="Token created" onClose={onDone} wide>
      <p>
        {created.kind === 'pat' ? 'Your new personal access token' : 'Your new legacy token'}
        {created.name ? ` “${created.name}”` : ''}:
      </p>
      <Field label="Token">
        {(props) => (
          <div className="copy-row">
            <input
              {...props}
              type="text"
              readOnly
              value={created.token}
              spellCheck={false}
              autoComplete="off"
              className="mono"
              onFocus={(event) => event.currentTarget.select()}
            />
            <button type="button" onClick={() => void copy()}>
              Copy
            </button>
          </div>
        )}
      </Field>
      <p role="status" className="hint">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'failed' && 'The browser did not allow copying: select the token and copy it yourself.'}
      </p>
      <p className="warning">
        <strong>Copy it now: it cannot be shown again.</strong> Once you close this dialog, the token is gone from this
        page, and Latchkey keeps no copy of it.
      </p>
      <h3>Use it with Label Studio</h3>
      {created.kind === 'pat' ? (
        <p>Exchange it for an access token (valid for a few minutes) with curl:</p>
      ) : (
        <p>Call the API with it (legacy tokens go in the Authorization header):</p>
      )}
      <pre className="code">
        <code>{curl}</code>
      </pre>
      <p>Or with the Python SDK, which refreshes access tokens for you:</p>
      <pre className="code">
        <code>{python}</code>
      </pre>
      <div className="actions">
        <button type="button" className="primary" onClick={onDone}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
