/**
 * The signing keys this process signs and verifies with, held in memory.
 *
 * Exactly one key signs (state `signing`); older keys keep verifying (state `verifying`) until
 * nothing they signed can still be live, then they are retired. Each key has one pinned
 * algorithm: a token is verified only under the algorithm of the key its `kid` names.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { JwtAlgorithm } from '../config';
import type { Db } from '../db/handle';
import type { Logger } from '../logger';
import { KEY_RETIREMENT_GRACE_SECONDS } from '../limits';
import { exportPrivate, generateKeyMaterial, importSignKey, importVerifyKey } from './key-material';
import {
  findSigningKey,
  findUsableKeys,
  insertSigningKey,
  retireUnneededKeys,
  withKeysLock,
  type SigningKey,
} from './keys.store';
import type { SecretBox } from './secret-box';

/** An unknown kid reloads the keys from the database at most this often. */
const RELOAD_ON_MISS_INTERVAL_MS = 5_000;

export interface Signer {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
}

export interface Verifier {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
}

interface KeyRingOptions {
  readonly db: Db;
  readonly box: SecretBox;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** How many verified tokens to remember (see {@link KeyRing.remember}); default 20 000. */
  readonly verifiedCacheSize?: number;
}

async function insertNewKey(tx: Db, box: SecretBox, alg: JwtAlgorithm, now: Date): Promise<SigningKey> {
  const material = await generateKeyMaterial(alg);
  return insertSigningKey(tx, {
    kid: material.kid,
    alg,
    publicJwk: (material.publicJwk ?? null) as SigningKey['publicJwk'],
    privateKeyEncrypted: new Uint8Array(box.seal(exportPrivate(material), `signing key ${material.kid}`)),
    createdAt: now,
  });
}

/** `latchkey keys rotate`: a new signing key; the old one verifies on. Retires what it can. */
export async function rotateSigningKey(
  db: Db,
  box: SecretBox,
  alg: JwtAlgorithm,
  now = new Date(),
): Promise<{ key: SigningKey; retired: string[] }> {
  return withKeysLock(db, async (tx) => {
    const key = await insertNewKey(tx, box, alg, now);
    return { key, retired: await retireUnneededKeys(tx, now, KEY_RETIREMENT_GRACE_SECONDS) };
  });
}

export class KeyRing {
  #signer!: Signer;
  #verifiers = new Map<string, Verifier>();
  #jwks: { keys: JsonWebKey[] } = { keys: [] };
  #lastReload = 0;
  #reloading: Promise<void> | undefined;
  readonly #verified: LRUCache<string, object>;

  private constructor(private readonly options: KeyRingOptions) {
    this.#verified = new LRUCache({ max: options.verifiedCacheSize ?? 20_000 });
  }

  /**
   * Loads the keys, first making sure a key of `alg` signs: on first start, or when the
   * configured algorithm changed, a new one is generated (under a lock, so instances starting
   * together make one).
   */
  static async open(options: KeyRingOptions & { readonly alg: JwtAlgorithm }): Promise<KeyRing> {
    const now = new Date((options.clock ?? Date.now)());
    await withKeysLock(options.db, async (tx) => {
      const current = await findSigningKey(tx);
      if (current?.alg === options.alg) return;
      const key = await insertNewKey(tx, options.box, options.alg, now);
      options.logger.info(
        { kid: key.kid, alg: key.alg, previous: current?.kid },
        current ? 'signing algorithm changed; new signing key generated' : 'signing key generated',
      );
    });
    const ring = new KeyRing(options);
    await ring.reload();
    return ring;
  }

  /** Re-reads the keys (another instance or the CLI may have rotated them). */
  reload(): Promise<void> {
    return (this.#reloading ??= this.#load().finally(() => (this.#reloading = undefined)));
  }

  async #load(): Promise<void> {
    const { db, box } = this.options;
    this.#lastReload = Date.now();
    const rows = await findUsableKeys(db);
    const signing = rows.find((row) => row.state === 'signing');
    if (!signing) throw new Error('no signing key in the database');
    const verifiers = new Map<string, Verifier>();
    for (const row of rows) {
      const known = this.#verifiers.get(row.kid);
      const open = () => box.open(row.privateKeyEncrypted, `signing key ${row.kid}`);
      verifiers.set(
        row.kid,
        known ?? {
          kid: row.kid,
          alg: row.alg,
          key: importVerifyKey(row.alg, row.publicJwk as JsonWebKey | null, open),
        },
      );
    }
    if (this.#signer?.kid !== signing.kid) {
      this.#signer = {
        kid: signing.kid,
        alg: signing.alg,
        key: importSignKey(signing.alg, box.open(signing.privateKeyEncrypted, `signing key ${signing.kid}`)),
      };
    }
    // A key that stopped verifying takes the signatures it vouched for with it.
    if ([...this.#verifiers.keys()].some((kid) => !verifiers.has(kid))) this.#verified.clear();
    this.#verifiers = verifiers;
    this.#jwks = { keys: rows.filter((row) => row.publicJwk !== null).map((row) => row.publicJwk as JsonWebKey) };
  }

  signer(): Signer {
    return this.#signer;
  }

  /** The key `kid` names, or undefined. A miss reloads from the database, rate-limited. */
  async verifier(kid: string): Promise<Verifier | undefined> {
    const known = this.#verifiers.get(kid);
    if (known || Date.now() - this.#lastReload < RELOAD_ON_MISS_INTERVAL_MS) return known;
    await this.reload();
    return this.#verifiers.get(kid);
  }

  /**
   * A token whose signature already verified, so a token used many times costs one signature
   * check. Only the signature is remembered: every claim, `exp` included, is checked on every use.
   */
  recall<T extends object>(token: string): T | undefined {
    return this.#verified.get(token) as T | undefined;
  }

  /**
   * Remembers a verified token; the least recently used go first when full. A signature does not
   * expire (a key's retirement clears the cache), and an expired token, no longer used, is soon
   * the least recently used.
   */
  remember(token: string, value: object): void {
    this.#verified.set(token, value);
  }

  /** RFC 7517 JWK Set of every key that verifies (none under HS256: it has no public half). */
  jwks(): { keys: JsonWebKey[] } {
    return this.#jwks;
  }
}
