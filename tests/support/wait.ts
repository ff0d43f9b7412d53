/**
 * Waiting for events instead of timing them. A test waits for what it expects (a log line, a
 * status) and gives up only after a generous safety timeout, with a message saying what never
 * happened: on a loaded two-core machine things are slow, not wrong. How fast they are is
 * `npm run bench`'s business, not a test's.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long to wait for one event (a process ready, a change arriving) before failing. Minutes,
 * not seconds: with other test runs beside it (load average 22 on two cores), an embedded
 * server's first start took over a minute to log "ready".
 */
export const EVENT_TIMEOUT_MS = 180_000;

/**
 * jest's timeout for a test or hook that drives real processes: well above EVENT_TIMEOUT_MS,
 * so that a failure shows which event never came rather than jest's generic timeout.
 */
export const PROCESS_TEST_TIMEOUT_MS = 3 * EVENT_TIMEOUT_MS;

/** Polls `check` until it holds; fails with a message naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting until ${what}`);
    await sleep(20);
  }
}

/** `work`, or a failure naming `what` (worded as in `until`) if it has not settled within `timeoutMs`. */
export function orTimeout<T>(work: Promise<T>, what: () => string, timeoutMs = EVENT_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`gave up after ${timeoutMs / 1000} s waiting until ${what()}`)),
      timeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
