/**
 * The legacy token format: `lkt_` + 30 random base62 characters (178 bits) + 6 characters of
 * checksum. The prefix lets secret scanners find a leaked token; the checksum refuses a typo
 * before any database lookup. The checksum is a keyed tag (see Tagger), so a stranger cannot
 * make a well-formed token either; tokens issued before it was keyed carry a CRC32 (as
 * GitHub's tokens do) and still work, at the cost of a lookup that is bounded.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Tagger } from '../secrets';

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

const unkeyedChecksum = (body: string) => base62(crc32(`${LEGACY_PREFIX}${body}`), CHECKSUM_CHARS);
const keyedChecksum = (tags: Tagger, body: string) =>
  base62(tags.tag('legacy token', body).readUInt32BE(0), CHECKSUM_CHARS);

export function generateLegacyToken(tags: Tagger): string {
  let body = '';
  while (body.length < RANDOM_CHARS) {
    // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
    for (const byte of randomBytes(RANDOM_CHARS))
      if (byte < 248 && body.length < RANDOM_CHARS) body += ALPHABET[byte % 62];
  }
  return `${LEGACY_PREFIX}${body}${keyedChecksum(tags, body)}`;
}

/**
 * `keyed` when `value` has the format and this deployment's checksum, `unkeyed` when it has the
 * old CRC32 checksum, undefined otherwise (a typo or a guess). Says nothing of whether it exists.
 */
export function legacyTokenFormat(tags: Tagger, value: string): 'keyed' | 'unkeyed' | undefined {
  if (!SHAPE.test(value)) return undefined;
  const body = value.slice(LEGACY_PREFIX.length, LEGACY_PREFIX.length + RANDOM_CHARS);
  const sum = value.slice(LEGACY_PREFIX.length + RANDOM_CHARS);
  if (sum === keyedChecksum(tags, body)) return 'keyed';
  return sum === unkeyedChecksum(body) ? 'unkeyed' : undefined;
}

/** A token in the old format (CRC32 checksum), as tokens were issued before the checksum was keyed. */
export function unkeyedLegacyToken(): string {
  const body = [...randomBytes(RANDOM_CHARS)].map((byte) => ALPHABET[byte % 62]).join('');
  return `${LEGACY_PREFIX}${body}${unkeyedChecksum(body)}`;
}

/** What may be shown again: the prefix and the last four characters. */
export const legacyHint = (token: string) => `${LEGACY_PREFIX}…${token.slice(-4)}`;
