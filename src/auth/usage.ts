/**
 * `last_used_at` without a write per request: uses are noted in memory and written in one
 * statement per table, at most once a minute per token; whatever is pending is written on
 * shutdown.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/handle';
import type { Logger } from '../logger';
import { markLegacyUsed, markPatsUsed } from './usage.store';

export type TokenKind = 'pat' | 'legacy';

/** A token's use is written at most this often. */
export const USAGE_WRITE_INTERVAL_MS = 60_000;
/** Bounds memory: past this many tokens, the least recently used marks are forgotten, and new pending uses wait for the next flush. */
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

  /** Notes a use of a PAT (by jti) or a legacy token (by id). Cheap: no I/O. */
  touch(kind: TokenKind, key: string | number): void {
    const id = `${kind}:${key}`;
    const now = this.clock();
    if (now - (this.#written.get(id) ?? -Infinity) < USAGE_WRITE_INTERVAL_MS) return;
    // Full until the next flush: this use is not noted, and a later one will be.
    if (this.#pending.size >= MAX_TRACKED && !this.#pending.has(id)) return;
    this.#written.set(id, now);
    this.#pending.set(id, now);
  }

  /** Writes every pending use; a failed write is logged and its uses kept for the next flush. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    const rows = (kind: TokenKind) =>
      batch
        .filter(([id]) => id.startsWith(`${kind}:`))
        .map(([id, at]) => ({ key: id.slice(kind.length + 1), at: new Date(at) }));
    try {
      const pats = rows('pat');
      const legacy = rows('legacy');
      if (pats.length) await markPatsUsed(this.db, pats);
      if (legacy.length)
        await markLegacyUsed(
          this.db,
          legacy.map((r) => ({ key: Number(r.key), at: r.at })),
        );
    } catch (err) {
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      this.logger.warn(
        { err: { message: (err as Error).message }, tokens: batch.length },
        'writing token last-used times failed; will retry',
      );
    }
  }
}
