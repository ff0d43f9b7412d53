/**
 * Encryption at rest for signing keys: AES-256-GCM under a key derived (HKDF-SHA256) from
 * LATCHKEY_SECRET_KEY. The record's id is bound in as associated data, so a ciphertext copied
 * onto another row does not decrypt.
 *
 * Layout: version (1 byte) | IV (12) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ProcessError } from '../process-errors';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends ProcessError {
  readonly code = 'secret_box_open_failed';
  override readonly name = 'SecretBoxError';
}

export class SecretBox {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'latchkey', 'signing-keys/v1', 32));
  }

  seal(plaintext: Uint8Array, associatedData: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Uint8Array, associatedData: string): Buffer {
    const box = Buffer.from(sealed);
    if (box.length < 1 + IV_BYTES + TAG_BYTES || box[0] !== VERSION)
      throw new SecretBoxError(`unknown encrypted key format for ${associatedData}`);
    const iv = box.subarray(1, 1 + IV_BYTES);
    const tag = box.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv)
        .setAAD(Buffer.from(associatedData))
        .setAuthTag(tag);
      return Buffer.concat([decipher.update(box.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new SecretBoxError(
        `cannot decrypt ${associatedData}: LATCHKEY_SECRET_KEY is not the key it was encrypted with`,
        { cause: err },
      );
    }
  }
}
