/** The two cookies of a browser session, Django's names where Label Studio's frontend expects them. */
import type { Response } from 'express';
import { noStore } from '../http/responses';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/authenticate';
import { hmacToken, randomToken, type Tagger } from '../secrets';
import type { LoggedIn } from './sessions.service';

export const CSRF_COOKIE = 'csrftoken';
export const CSRF_HEADER = 'x-csrftoken';

const NONCE_BYTES = 16;
const TAG_BYTES = 16;
const sessionTag = (tags: Tagger, sid: string, nonce: Buffer) =>
  tags.tag('session cookie', `${sid}.${nonce.toString('hex')}`).subarray(0, TAG_BYTES);

/**
 * A session's cookie secret (32 bytes, 43 base64url characters): 16 random bytes and a keyed
 * tag of them with the session id, so a guessed cookie is refused before any lookup.
 */
export function newSessionSecret(tags: Tagger, sid: string): string {
  const nonce = Buffer.from(randomToken(NONCE_BYTES), 'base64url');
  return Buffer.concat([nonce, sessionTag(tags, sid, nonce)]).toString('base64url');
}

/** True when `secret` is one this deployment made for session `sid` (says nothing of whether it is live). */
export function isOurSessionSecret(tags: Tagger, sid: string, secret: string): boolean {
  const bytes = Buffer.from(secret, 'base64url');
  return (
    bytes.length === NONCE_BYTES + TAG_BYTES &&
    timingSafeEqual(bytes.subarray(NONCE_BYTES), sessionTag(tags, sid, bytes.subarray(0, NONCE_BYTES)))
  );
}

/**
 * The CSRF token of a session: an HMAC of the session's own secret, so it is bound to the
 * session (a token planted from elsewhere, or taken from another session, does not match) and
 * needs no state: the server recomputes it from the session cookie it receives.
 */
export const csrfTokenFor = (sessionSecret: string) => hmacToken(sessionSecret, 'latchkey csrf token');

/** Cookies are `Secure` when the server is reached over HTTPS (its issuer says so). */
export const secureCookies = (issuer: string) => issuer.startsWith('https:');

/** The answer of a new session (login, first-run setup), beside its cookies. */
export const loggedIn = z.object({
  access: z.string().meta({
    description: 'An access token (JWT) for this session; the session and CSRF cookies are set beside it.',
  }),
});

/** Answers a new session, as login does: its two cookies, and `{"access"}` (never cached). */
export function sendSession(res: Response, session: LoggedIn, issuer: string, status: 200 | 201): void {
  setSessionCookies(res, session, session.maxAgeMs, secureCookies(issuer));
  noStore(res)
    .status(status)
    .json({ access: session.access } satisfies z.output<typeof loggedIn>);
}

export function setSessionCookies(
  res: Response,
  values: { session: string; csrf: string },
  maxAgeMs: number,
  secure: boolean,
): void {
  res.cookie(SESSION_COOKIE, values.session, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: maxAgeMs });
  // Readable by the page, which echoes it in X-CSRFToken (Django's names; the value is bound to the session).
  res.cookie(CSRF_COOKIE, values.csrf, { httpOnly: false, sameSite: 'lax', secure, path: '/', maxAge: maxAgeMs });
}

export function clearSessionCookies(res: Response, secure: boolean): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure, path: '/' });
  res.clearCookie(CSRF_COOKIE, { sameSite: 'lax', secure, path: '/' });
}
