/**
 * The fields that make a user, as every way in checks them (the first-run page, an admin adding
 * a member): one rule each, with Django REST framework's messages, as Label Studio answers.
 */
import { z } from 'zod';
import { storableString } from '../http/validate';
import { MIN_PASSWORD_LENGTH } from '../limits';

const required = (otherwise: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'This field is required.' : otherwise;

/** RFC 5321's longest address. */
export const emailField = () =>
  z
    .email({ error: required('Enter a valid email address.') })
    .max(254, 'Ensure this field has no more than 254 characters.');

/** A new password: long enough to resist guessing, short enough that bcrypt sees all of it that matters. */
export const newPasswordField = () =>
  z
    .string({ error: required('Not a valid string.') })
    .min(MIN_PASSWORD_LENGTH, `Ensure this field has at least ${MIN_PASSWORD_LENGTH} characters.`)
    .max(1024, 'Ensure this field has no more than 1024 characters.');

/** First or last name: Django's 150 characters, may be blank. */
export const nameField = () => storableString().max(150, 'Ensure this field has no more than 150 characters.');
