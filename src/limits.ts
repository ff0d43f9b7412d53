/**
 * Bounds that several rules share. Each is named once here, with why it is what it is, so
 * the settings that accept a value and the checks that rely on its bound cannot disagree.
 */

/** The longest access-token lifetime an organization may set (`access_token_ttl_seconds`). */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 3600;
/** The shortest: below this a client would spend its time refreshing. */
export const MIN_ACCESS_TOKEN_TTL_SECONDS = 30;
/** The largest clock skew tolerated on `exp`/`iat`/`nbf` (`LATCHKEY_JWT_LEEWAY_SECONDS`). */
export const MAX_LEEWAY_SECONDS = 300;
/** How long a demoted signing key must keep verifying: every access token it signed has expired by then. */
export const KEY_RETIREMENT_GRACE_SECONDS = MAX_ACCESS_TOKEN_TTL_SECONDS + MAX_LEEWAY_SECONDS;
/**
 * How long the revocation stream's log (`token_events`) keeps an event: every access token
 * issued before it has expired by then, so a subscriber that replays the log knows every
 * revocation that can still matter. The migration that prunes the table names the same number
 * (a test checks that they agree).
 */
export const TOKEN_EVENT_RETENTION_SECONDS = MAX_ACCESS_TOKEN_TTL_SECONDS + MAX_LEEWAY_SECONDS;
/**
 * Legacy tokens issued before their checksum was keyed can only be told from a guess by a
 * database lookup; this many such cold lookups a minute per instance, then 429 until the
 * minute is over (warm tokens are unaffected: they need no lookup).
 */
export const UNKEYED_LEGACY_LOOKUPS_PER_MINUTE = 600;
/**
 * The shortest password accepted wherever one is set: `LATCHKEY_ADMIN_PASSWORD`, a member
 * added with a password, and `latchkey create-admin`. One number, so that no way in accepts
 * a password another would refuse.
 */
export const MIN_PASSWORD_LENGTH = 8;
