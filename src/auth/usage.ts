/**
 * `last_used_at` of tokens and `last_activity` of users without a write per request: uses are
 * noted in memory and written in one statement per table, at most once a minute per token or
 * user; whatever is pending is written on shutdown. A user's activity is a login, a refresh or
 * any authenticated request (as Label Studio's middleware counts it), whatever the credential.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/handle';
import type { Logger } from '../logger';
import { markLegacyUsed, markPatsUsed, markUsersActive } from './usage.store';

/** What a use is noted for: a PAT (by jti), a legacy token (by id) or a user (by id). */
export type UseKind = 'pat' | 'legacy' | 'user';

/** A token's use is written at most this often. */
export const USAGE_WRITE_INTERVAL_MS = 60_000;
/** Bounds memory: past this many tokens and users, the least recently used marks are forgotten, and new pending uses wait for the next flush. */
const MAX_TRACKED = 100_000;

export class UsageRecorder {
  /** key → last use not yet written. */
  readonly #pending = new Map<string, number>();
  /** key → when its use was last queued for writing. */
  readonly #written = new LRUCache<string, number>({ max: MAX_TRACKED });

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {}

  /** Notes a use of a PAT (by jti) or a legacy token (by id), or a user's activity (by id). Cheap: no I/O. */
  touch(kind: UseKind, key: string | number): void {
    const id = `${kind}:${key}`;
    const now = this.clock();
    if (now - (this.#written.get(id) ?? -Infinity) < USAGE_WRITE_INTERVAL_MS) return;
    // Full until the next flush: this use is not noted, and a later one will be.
    if (this.#pending.size >= MAX_TRACKED && !this.#pending.has(id)) return;
    this.#written.set(id, now);
    this.#pending.set(id, now);
  }

  /**
   * When this instance last noted a use of `key` for writing (at most a minute before its
   * latest use); undefined if it has not, or has forgotten. Whoami's `last_activity` is the later
   * of this and what was read, since a cached user does not see these writes.
   */
  noted(kind: UseKind, key: string | number): Date | undefined {
    const at = this.#written.peek(`${kind}:${key}`);
    return at === undefined ? undefined : new Date(at);
  }

  /** Writes every pending use; a failed write is logged and its uses kept for the next flush. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    const rows = (kind: UseKind) =>
      batch
        .filter(([id]) => id.startsWith(`${kind}:`))
        .map(([id, at]) => ({ key: id.slice(kind.length + 1), at: new Date(at) }));
    try {
      const byId = (kind: UseKind) => rows(kind).map((r) => ({ key: Number(r.key), at: r.at }));
      const pats = rows('pat');
      const legacy = byId('legacy');
      const users = byId('user');
      if (pats.length) await markPatsUsed(this.db, pats);
      if (legacy.length) await markLegacyUsed(this.db, legacy);
      if (users.length) await markUsersActive(this.db, users);
    } catch (err) {
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      this.logger.warn(
        { err: { message: (err as Error).message }, tokens: batch.length },
        'writing token last-used times failed; will retry',
      );
    }
  }
}
