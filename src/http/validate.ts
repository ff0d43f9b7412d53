/**
 * Request-body validation with Django REST framework's messages (Label Studio clients show
 * them), reported as the contract's `validation_errors`: field → messages.
 */
import { z } from 'zod';
import { fail } from '../errors';

const requiredOr = (otherwise: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'This field is required.' : otherwise;

/**
 * A required string that Postgres can store: no NUL (Django REST framework refuses one in every
 * CharField: "Null characters are not allowed.") and no lone surrogate (it has no UTF-8 form).
 */
export const storableString = () =>
  z
    .string({ error: requiredOr('Not a valid string.') })
    .refine((value) => !value.includes('\0'), 'Null characters are not allowed.')
    .refine((value) => !/\p{Cs}/u.test(value), 'Not a valid string.');

/** A required non-blank string, trimmed, of at most `max` characters if given. */
export function text(max?: number) {
  const nonBlank = storableString().trim().min(1, 'This field may not be blank.');
  return max === undefined ? nonBlank : nonBlank.max(max, `Ensure this field has no more than ${max} characters.`);
}

/** An integer, from JSON or from a form's digits. */
export const integer = (min: number, max: number) =>
  z
    .union(
      [
        // The bounds, which the pipe checks after conversion, as the OpenAPI document shows them
        // (metadata: it changes no check and no message).
        z.number().meta({ type: 'integer', minimum: min, maximum: max }),
        z.string().regex(/^\s*-?\d+\s*$/, 'A valid integer is required.'),
      ],
      {
        error: requiredOr('A valid integer is required.'),
      },
    )
    .transform(Number)
    .pipe(
      z
        .number()
        .int('A valid integer is required.')
        .min(min, `Ensure this value is greater than or equal to ${min}.`)
        .max(max, `Ensure this value is less than or equal to ${max}.`),
    );

/**
 * A user's value as a message may quote it: a primitive as itself, anything else by its type.
 * Never through the value's own `toString` (`{"toString": 1}` has one that throws).
 */
const quoted = (value: unknown) => {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return `"${String(value)}"`;
  return Array.isArray(value) ? 'An array' : 'An object';
};

export const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) =>
      issue.input === undefined ? 'This field is required.' : `${quoted(issue.input)} is not a valid choice.`,
  });

/** The instants Postgres and JavaScript both hold (Postgres has no year 0; ISO strings end at 9999). */
const FIRST_INSTANT = new Date('0001-01-01T00:00:00Z');
const LAST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

/**
 * An instant as RFC 3339 writes one, with its offset (`2026-11-30T12:00:00Z`,
 * `2026-11-30T13:00:00.5+01:00`), as a Date. zod's pattern knows the calendar: February 30th
 * is refused, not rolled over into March.
 */
export const instant = () => {
  const message = 'Datetime has wrong format. Use this format instead: YYYY-MM-DDThh:mm:ss[.uuuuuu](Z|+HH:MM|-HH:MM).';
  const range = 'Ensure this datetime is between years 0001 and 9999.';
  return z.iso
    .datetime({ offset: true, error: requiredOr(message) })
    .transform((value) => new Date(value))
    .pipe(z.date().min(FIRST_INSTANT, range).max(LAST_INSTANT, range));
};

/** A query string's id (`?user_id=7`): {@link idSegment}'s digits, as a number. */
export const idQuery = () =>
  z
    .string({ error: requiredOr('A valid integer is required.') })
    .regex(/^\d{1,9}$/, 'A valid integer is required.')
    .transform(Number);

/** Parses `body` (undefined counts as `{}`) or throws a 400 with every field's messages. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  throw fail('validation_error', { fields: fieldErrors(parsed.error) });
}

/**
 * Parses a query string's parameters (beside paging's, which the schema ignores) or throws a
 * 400 naming each bad one. A repeated parameter arrives as an array, which a string refuses.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseBody(schema, query);
}

/**
 * Zod issues as field → messages; an unknown key is reported under its own name. Field names
 * are the client's (`constructor`, `__proto__`), so they are collected in a Map, never looked
 * up on a plain object.
 */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields = new Map<string, string[]>();
  const add = (field: string, message: string) => {
    const messages = fields.get(field);
    if (messages) messages.push(message);
    else fields.set(field, [message]);
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) add(key, 'Unknown field.');
    else if (issue.path.length) add(String(issue.path[0]), issue.message);
    else
      add('non_field_errors', issue.code === 'invalid_type' ? 'Invalid data. Expected a dictionary.' : issue.message);
  }
  // fromEntries defines own properties, so even `__proto__` becomes a field like any other.
  return Object.fromEntries(fields);
}

/** A record's id in a path: digits, as many as a Postgres `integer` id may have. */
export const idSegment = z.string().regex(/^\d{1,9}$/);

/** A numeric id from the path ({@link idSegment}); anything else names nothing (404). */
export function idParam(value: unknown): number {
  const parsed = idSegment.safeParse(value);
  if (!parsed.success) throw fail('not_found');
  return Number(parsed.data);
}
