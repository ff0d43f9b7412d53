/**
 * The legacy token format: `lkt_` + 30 random base62 characters (178 bits) + 6 characters of
 * CRC32 checksum, as GitHub's tokens do. The prefix lets secret scanners find a leaked token;
 * the checksum refuses a typo before any database lookup.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const LEGACY_PREFIX = 'lkt_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 30;
const CHECKSUM_CHARS = 6;
const SHAPE = new RegExp(`^${LEGACY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);

function base62(value: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++, value = Math.floor(value / 62)) out = ALPHABET[value % 62] + out;
  return out;
}

const checksum = (body: string) => base62(crc32(`${LEGACY_PREFIX}${body}`), CHECKSUM_CHARS);

export function generateLegacyToken(): string {
  let body = '';
  while (body.length < RANDOM_CHARS) {
    // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
    for (const byte of randomBytes(RANDOM_CHARS)) if (byte < 248 && body.length < RANDOM_CHARS) body += ALPHABET[byte % 62];
  }
  return `${LEGACY_PREFIX}${body}${checksum(body)}`;
}

/** True when `value` has the format and its checksum matches; says nothing of whether it exists. */
export function isWellFormedLegacyToken(value: string): boolean {
  if (!SHAPE.test(value)) return false;
  const body = value.slice(LEGACY_PREFIX.length, LEGACY_PREFIX.length + RANDOM_CHARS);
  return value.endsWith(checksum(body));
}

/** What may be shown again: the prefix and the last four characters. */
export const legacyHint = (token: string) => `${LEGACY_PREFIX}…${token.slice(-4)}`;
