/** All randomness and secret hashing go through here (immich's rule). */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes as lowercase hex (jti, session ids). */
export const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

/** `bytes` random bytes as base64url (cookie secrets). */
export const randomToken = (bytes: number) => randomBytes(bytes).toString('base64url');

/** SHA-256 as lowercase hex: how a random secret is stored and looked up. */
export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Constant-time string comparison; unequal lengths are unequal without a timing signal on content. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
