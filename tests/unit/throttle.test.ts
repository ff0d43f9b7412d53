/** PerMinuteLimit (src/auth/throttle.ts): fixed one-minute windows per key, on an injected clock. */
import fc from 'fast-check';
import { AppError } from '../../src/errors';
import { PerMinuteLimit } from '../../src/rate-limit';
import { frozenClock } from '../support/clock';

/** undefined when admitted, else the refusal's Retry-After in seconds. */
function attempt(limit: PerMinuteLimit, key: string): number | undefined {
  try {
    limit.take(key);
    return undefined;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err).toMatchObject({ status: 429, code: 'rate_limited' });
    return Number(err.options.headers?.['Retry-After']);
  }
}

describe('PerMinuteLimit', () => {
  it('admits `limit` events a minute per key, then 429 with Retry-After until the window that the first opened ends', () => {
    const clock = frozenClock();
    const limit = new PerMinuteLimit(3, clock, 'PATs created');
    expect([attempt(limit, 'u1'), attempt(limit, 'u1'), attempt(limit, 'u1')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(attempt(limit, 'u1')).toBe(60);
    // Another key has a window of its own.
    expect(attempt(limit, 'u2')).toBeUndefined();
    clock.advance(59.5);
    expect(attempt(limit, 'u1')).toBe(1);
    clock.advance(0.5);
    expect(attempt(limit, 'u1')).toBeUndefined();
  });

  it('says what is limited, and how much, in its detail', () => {
    const limit = new PerMinuteLimit(1, frozenClock(), 'PATs created');
    limit.take('u');
    expect(() => limit.take('u')).toThrow('Too many PATs created: at most 1 a minute; try again in 60 seconds.');
  });

  it('refusals do not count: the key is admitted again once Retry-After has passed, whatever came between', () => {
    // One limit per maximum, shared by the runs (each run has a key of its own): a limit
    // allocates its LRU of 100 000 entries up front.
    const clock = frozenClock();
    const limits = [1, 2, 3, 4, 5].map((max) => new PerMinuteLimit(max, clock, 'events'));
    let run = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 90_000 }), { maxLength: 40 }),
        (max, gaps) => {
          const limit = limits[max - 1]!;
          const key = `run ${run++}`;
          let windowStart: number | undefined;
          let admitted = 0;
          for (const gap of gaps) {
            clock.set(clock() + gap);
            // A fixed window, opened by the first event after the last one ended.
            if (windowStart === undefined || clock() >= windowStart + 60_000) [windowStart, admitted] = [clock(), 0];
            const wait = attempt(limit, key);
            // Refused exactly when the window is full.
            expect(wait === undefined).toBe(admitted < max);
            if (wait === undefined) admitted++;
            else {
              expect(wait).toBe(Math.ceil((windowStart + 60_000 - clock()) / 1000));
              clock.set(clock() + wait * 1000);
              [windowStart, admitted] = [clock(), 1];
              expect(attempt(limit, key)).toBeUndefined();
            }
          }
        },
      ),
    );
  });
});
