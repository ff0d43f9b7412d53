/**
 * Failed-login limits, per client IP and per account: fixed windows counted in memory (per
 * instance; a shared limit would cost a database write per attempt). At the limit, further
 * attempts are refused with 429 and Retry-After until the window ends, without checking the
 * password, so a guesser learns nothing more.
 */
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors';

export interface ThrottleLimits {
  readonly perAccount: number;
  readonly perIp: number;
  readonly windowSeconds: number;
}

export const LOGIN_LIMITS: ThrottleLimits = { perAccount: 10, perIp: 50, windowSeconds: 15 * 60 };

/** Bounds memory under a spray of distinct keys; the oldest windows go first. */
const MAX_ENTRIES = 100_000;

interface Window {
  count: number;
  readonly resetAt: number;
}

export class LoginThrottle {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly clock: () => number,
  ) {}

  /** Seconds until `ip` or `account` may try again; 0 if it may now. */
  retryAfter(ip: string, account: string): number {
    const now = this.clock();
    const waits = [this.#blockedUntil(`ip:${ip}`, this.limits.perIp, now), this.#blockedUntil(`account:${account}`, this.limits.perAccount, now)];
    return Math.ceil(Math.max(0, ...waits.map((until) => until - now)) / 1000);
  }

  failed(ip: string, account: string): void {
    this.#count(`ip:${ip}`);
    this.#count(`account:${account}`);
  }

  succeeded(account: string): void {
    this.#windows.delete(`account:${account}`);
  }

  #blockedUntil(key: string, limit: number, now: number): number {
    const window = this.#windows.get(key);
    return window && window.resetAt > now && window.count >= limit ? window.resetAt : 0;
  }

  #count(key: string): void {
    const now = this.clock();
    const window = this.#windows.get(key);
    if (window && window.resetAt > now) {
      window.count++;
      return;
    }
    this.#windows.delete(key);
    if (this.#windows.size >= MAX_ENTRIES) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(key, { count: 1, resetAt: now + this.limits.windowSeconds * 1000 });
  }
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
      throw new AppError(429, 'rate_limited', `Too many ${this.what}: at most ${this.limit} a minute; try again in ${wait} seconds.`, { headers: { 'Retry-After': String(wait) } });
    }
    window.count++;
  }
}
