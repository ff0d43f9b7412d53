/** A fixed-window rate limit in memory, for authenticated callers (see {@link PerMinuteLimit}). */
import { LRUCache } from 'lru-cache';
import { fail } from './errors';

/** Keys a {@link PerMinuteLimit} keeps at most; the least recently used go first. */
const MAX_ENTRIES = 100_000;

interface Window {
  count: number;
  readonly resetAt: number;
}

/**
 * At most `limit` events per key per minute, in fixed windows, counted in memory per instance
 * (what bounds the churn of PAT creation and rotation: every one is a row). The keys are
 * authenticated users, and an LRU bounds them anyway.
 */
export class PerMinuteLimit {
  readonly #windows = new LRUCache<string, Window>({ max: MAX_ENTRIES });

  constructor(
    private readonly limit: number,
    private readonly clock: () => number,
    private readonly what: string,
  ) {}

  /** Counts one event for `key`, or throws 429 with Retry-After when the window is full. */
  take(key: string): void {
    const now = this.clock();
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) this.#windows.set(key, (window = { count: 0, resetAt: now + 60_000 }));
    if (window.count >= this.limit) {
      const wait = Math.ceil((window.resetAt - now) / 1000);
      throw fail('rate_limited', {
        detail: `Too many ${this.what}: at most ${this.limit} a minute; try again in ${wait} seconds.`,
        headers: { 'Retry-After': String(wait) },
      });
    }
    window.count++;
  }
}
