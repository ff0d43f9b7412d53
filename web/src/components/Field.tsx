/**
 * A labelled form control with its description and the server's messages for it, tied together
 * with `aria-describedby` and `aria-invalid`. The control is given by a render function that
 * spreads the ids it needs: `<Field label="Name">{(props) => <input {...props} />}</Field>`.
 */
import { useId, type ReactNode } from 'react';
import { ApiError, describe } from '../api';

export interface ControlProps {
  readonly id: string;
  readonly 'aria-describedby'?: string;
  readonly 'aria-invalid'?: true;
}

interface FieldProps {
  readonly label: string;
  readonly description?: ReactNode;
  readonly errors?: readonly string[];
  readonly children: (props: ControlProps) => ReactNode;
  /** A switch or checkbox: the control comes before its label. */
  readonly inline?: boolean;
}

export function Field({ label, description, errors = [], children, inline = false }: FieldProps) {
  const id = useId();
  const descriptionId = `${id}-description`;
  const errorId = `${id}-errors`;
  const describedBy = [description ? descriptionId : '', errors.length ? errorId : ''].filter(Boolean).join(' ');
  const control = children({
    id,
    ...(describedBy ? { 'aria-describedby': describedBy } : {}),
    ...(errors.length ? { 'aria-invalid': true as const } : {}),
  });
  return (
    <div className={inline ? 'field field-inline' : 'field'}>
      {inline && control}
      <label htmlFor={id}>{label}</label>
      {!inline && control}
      {description && (
        <p id={descriptionId} className="hint">
          {description}
        </p>
      )}
      {errors.length > 0 && (
        <ul id={errorId} className="field-errors">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A form's messages that belong to no field: the server's `detail`, or validation errors of other fields. */
export function FormError({ error, fields }: { readonly error: unknown; readonly fields: readonly string[] }) {
  if (error === undefined) return null;
  const messages: string[] = [];
  if (error instanceof ApiError && Object.keys(error.fieldErrors).length > 0) {
    for (const [field, list] of Object.entries(error.fieldErrors)) {
      if (!fields.includes(field)) messages.push(...list);
    }
    if (messages.length === 0) messages.push('Please correct the fields marked below.');
  } else {
    messages.push(describe(error));
  }
  return (
    <div role="alert" className="error">
      {messages.map((message) => (
        <p key={message}>{message}</p>
      ))}
    </div>
  );
}

/** The server's messages for one field, if the error carries some. */
export const fieldErrors = (error: unknown, field: string): string[] =>
  error instanceof ApiError ? (error.fieldErrors[field] ?? []) : [];
