/**
 * Every child process a test file starts (servers, CLI runs, nginx, PGlite servers), so that
 * none outlives the file. A test stops what it starts in `finally`/`afterAll`; when it cannot
 * (it failed first, or the child never became ready), the test environment
 * (`./environment.ts`) stops the leftovers once all of the file's own hooks have run.
 */
import type { ChildProcess } from 'node:child_process';

/**
 * On the test file's global object, where the environment (outside the file's module
 * registry) finds it.
 */
const REGISTRY = '__latchkeyChildren';

type WithRegistry = { [REGISTRY]?: Set<ChildProcess> };

function registry(global: object): Set<ChildProcess> {
  return ((global as WithRegistry)[REGISTRY] ??= new Set());
}

const running = (child: ChildProcess) =>
  child.pid !== undefined && child.exitCode === null && child.signalCode === null;

/** Registers `child` until it exits. Call right after spawn, before anything can throw. */
export function track<T extends ChildProcess>(child: T): T {
  const children = registry(globalThis);
  children.add(child);
  child.once('exit', () => children.delete(child));
  // Never started (ENOENT and the like): there is nothing to stop.
  child.once('error', () => void (child.pid === undefined && children.delete(child)));
  return child;
}

/** How the child ended: its exit code, or the signal that ended it. */
export interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Resolves when `child` has exited (at once if it already has). */
export function ended(child: ChildProcess): Promise<Ended> {
  if (!running(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Asks `child` to stop with `signal`; if it has not exited `graceMs` later, SIGKILLs it.
 * Resolves with how it ended and whether it had to be killed.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<Ended & { killed: boolean }> {
  const exit = ended(child);
  if (!running(child)) return { ...(await exit), killed: false };
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  const first = await Promise.race([exit, late]);
  clearTimeout(timer);
  if (first !== 'late') return { ...first, killed: false };
  child.kill('SIGKILL');
  return { ...(await exit), killed: true };
}

/**
 * Stops whatever children the file on `global` left running: SIGTERM (nginx's master stops its
 * workers on it; a SIGKILLed master would leave them serving), then SIGKILL. Returns one line
 * per leftover, for the environment to print.
 */
export async function stopLeftovers(global: object): Promise<string[]> {
  const leftovers = [...registry(global)].filter(running);
  return Promise.all(
    leftovers.map(async (child) => {
      const { killed } = await stopChild(child, 'SIGTERM', 5_000);
      return `pid ${child.pid} (${child.spawnargs.join(' ')}): ${killed ? 'did not stop on SIGTERM; killed' : 'stopped with SIGTERM'}`;
    }),
  );
}
