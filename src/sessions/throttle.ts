/**
 * Failed-login limits (OWASP Authentication Cheat Sheet, "Login Throttling"), counted in
 * Postgres so that every instance shares them. Three limits, each a fixed window opened by
 * the first failure in it: one client guessing one account, one client across accounts, and
 * one account from everywhere. At a limit, further attempts are refused with 429 and
 * Retry-After until the window ends, without checking the password, so a guesser learns
 * nothing more. Reading the counters is one query per attempt; only a failed attempt writes
 * (one upsert, then a bounded sweep of expired windows); a success writes nothing and resets
 * nothing, so nobody can clear a counter by logging in to an account of their own.
 */
import { isIPv6 } from 'node:net';
import type { Context } from '../context';
import { fail } from '../errors';
import { sha256Hex } from '../secrets';
import { countFailure, deleteExpired, readCounters, type CounterRow } from './throttle.store';

export interface LoginLimit {
  /** Failures allowed in one window; the attempt after them is refused. */
  readonly failures: number;
  readonly windowSeconds: number;
}

export type LoginScope = 'account_client' | 'client' | 'account';

/** The failed-login limits, in one place. */
export const LOGIN_LIMITS: Readonly<Record<LoginScope, LoginLimit>> = {
  /**
   * One client guessing one account: what a guesser at one address meets, and what a user
   * who mistypes meets first (ten tries in 15 minutes is plenty for a person). It refuses only
   * that client, so a guesser elsewhere cannot lock the owner out.
   */
  account_client: { failures: 10, windowSeconds: 15 * 60 },
  /**
   * One client across accounts (password spraying). Ten times the above: room for an office
   * or a campus behind one NAT address, where many people mistype.
   */
  client: { failures: 100, windowSeconds: 15 * 60 },
  /**
   * One account from every client (guessing spread over many addresses): the cap on guesses
   * against one account, 1 200 a day. Above what one client can reach alone (10 per 15
   * minutes is 40 an hour), so only guessing from several addresses locks the owner out, and
   * for at most an hour.
   */
  account: { failures: 50, windowSeconds: 60 * 60 },
};

/** Expired windows each failed attempt deletes at most: far more than the three it can create. */
const SWEEP_BATCH = 100;

interface Counter {
  readonly scope: LoginScope;
  readonly key: string;
  readonly limit: LoginLimit;
}

const tooManyFailures = (wait: number) =>
  fail('rate_limited', {
    detail: `Too many failed login attempts; try again in ${wait} seconds.`,
    headers: { 'Retry-After': String(wait) },
  });

/**
 * The client a limit counts: an IPv4 address (IPv4-mapped ones too) as it is, an IPv6
 * address by its /64, because one subscriber usually holds a whole /64 and could otherwise
 * take a fresh address for every guess.
 */
function clientOf(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const [head, tail] = address.split('::');
  const full =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...Array<string>(8 - width(groups(head)) - width(groups(tail))).fill('0'), ...groups(tail)];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Keys are hashed: people type passwords into the email field, and the table should not
 * keep them (or the addresses) in the clear. The scope stays readable.
 */
function countersFor(ip: string, account: string): Counter[] {
  const client = clientOf(ip);
  const counter = (scope: LoginScope, ...parts: string[]): Counter => ({
    scope,
    key: `${scope}:${sha256Hex(JSON.stringify(parts))}`,
    limit: LOGIN_LIMITS[scope],
  });
  return [counter('account_client', account, client), counter('client', client), counter('account', account)];
}

export class LoginThrottle {
  /**
   * Password checks under way on this instance, per key. They count as failures until they
   * end, so that guesses sent all at once cannot all pass the check before the first of them
   * is counted. (Across instances, a burst can still pass by what the others have under way.)
   */
  readonly #checking = new Map<string, number>();

  /**
   * Runs `verify` (the password check) for `account` from client address `ip` unless a limit
   * is reached, in which case it throws 429 with Retry-After instead. `verify` answers
   * undefined for a failed login, which is then counted; a success writes nothing.
   */
  async guard<T>(
    ctx: Context,
    ip: string,
    account: string,
    verify: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const counters = countersFor(ip, account);
    // Held before reading and released only once a failure is written: an attempt is always
    // either under way or in the table, so of two concurrent attempts one counts the other.
    const others = counters.map((c) => this.#hold(c.key, +1) - 1);
    try {
      const now = ctx.clock();
      const rows = new Map(
        (
          await readCounters(
            ctx.db,
            counters.map((c) => c.key),
            new Date(now),
          )
        ).map((row) => [row.key, row]),
      );
      const wait = Math.max(0, ...counters.map((c, i) => waitFor(c, rows.get(c.key), others[i]!, now)));
      if (wait > 0) throw tooManyFailures(wait);
      const result = await verify();
      if (result === undefined) await failed(ctx, counters);
      return result;
    } finally {
      for (const c of counters) this.#hold(c.key, -1);
    }
  }

  #hold(key: string, by: 1 | -1): number {
    const held = (this.#checking.get(key) ?? 0) + by;
    if (held === 0) this.#checking.delete(key);
    else this.#checking.set(key, held);
    return held;
  }
}

/** Seconds until `counter` admits an attempt, 0 if it does now; 1 when only checks under way fill it. */
function waitFor(counter: Counter, row: CounterRow | undefined, checking: number, now: number): number {
  const stored = row?.failures ?? 0;
  if (stored + checking < counter.limit.failures) return 0;
  return row && stored >= counter.limit.failures
    ? Math.max(1, Math.ceil((row.window_ends_at.getTime() - now) / 1000))
    : 1;
}

async function failed(ctx: Context, counters: readonly Counter[]): Promise<void> {
  const now = ctx.clock();
  const rows = await countFailure(
    ctx.db,
    counters.map((c) => ({ key: c.key, windowEndsAt: new Date(now + c.limit.windowSeconds * 1000) })),
    new Date(now),
  );
  for (const row of rows) {
    const counter = counters.find((c) => c.key === row.key)!;
    if (row.failures === counter.limit.failures)
      ctx.logger.warn(
        { limit: counter.scope, failures: row.failures, windowSeconds: counter.limit.windowSeconds },
        'failed-login limit reached',
      );
  }
  // Bounds the table: every failure that may add rows removes expired ones. Best effort: the
  // failure is counted, and the next one sweeps again.
  await deleteExpired(ctx.db, new Date(now), SWEEP_BATCH).catch((err: unknown) =>
    ctx.logger.warn({ err: { message: (err as Error).message } }, 'deleting expired failed-login windows failed'),
  );
}
