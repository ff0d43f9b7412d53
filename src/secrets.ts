/** All randomness and secret hashing go through here (immich's rule). */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Identifiers (jti, session ids) are drawn from a buffer of CSPRNG output refilled 4 KiB at a
 * time, as randomUUID does: one system call per ~250 tokens instead of one per token.
 * Secrets (`randomToken`) are always drawn fresh.
 */
const ID_POOL_BYTES = 4096;
let idPool = Buffer.alloc(0);
let idOffset = 0;

/** `bytes` random bytes as lowercase hex (jti, session ids). */
export function randomHex(bytes: number): string {
  if (idOffset + bytes > idPool.length) {
    idPool = randomBytes(Math.max(ID_POOL_BYTES, bytes));
    idOffset = 0;
  }
  const hex = idPool.toString('hex', idOffset, idOffset + bytes);
  idOffset += bytes;
  return hex;
}

/** `bytes` random bytes as base64url (cookie secrets). */
export const randomToken = (bytes: number) => randomBytes(bytes).toString('base64url');

/** SHA-256 as lowercase hex: how a random secret is stored and looked up. */
export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** HMAC-SHA256 of `message` under `key`, as base64url: a value bound to a secret. */
export const hmacToken = (key: string, message: string) =>
  createHmac('sha256', key).update(message).digest('base64url');

/**
 * Keyed tags: HMAC-SHA256 under a key derived (HKDF) from LATCHKEY_SECRET_KEY. A value that
 * carries one was made by this deployment, which can be checked before any lookup, so a
 * stranger's well-formed guesses cost no database round trip.
 */
export class Tagger {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'latchkey', 'tags/v1', 32));
  }

  /** The tag of `message` for `purpose` (each purpose its own domain). */
  tag(purpose: string, message: string): Buffer {
    return createHmac('sha256', this.#key).update(purpose).update('\0').update(message).digest();
  }
}

/** Constant-time string comparison; unequal lengths are unequal without a timing signal on content. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
