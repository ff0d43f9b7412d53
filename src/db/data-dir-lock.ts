/**
 * The embedded database belongs to one process at a time. PGlite does no locking of its own:
 * a second process that opens the same data dir works on its own copy of the files (its writes
 * are lost, or lose the server's) or aborts. So every process that opens the embedded database,
 * the server and each CLI command, first holds `<dataDir>/latchkey.lock`, which names its pid.
 *
 * A lock whose process is no longer running is stale (a crash, `kill -9`) and is taken over.
 * A reused pid can make a stale lock look held; the refusal names the pid, so a person can see.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import { ProcessError } from '../process-errors';

export const LOCK_FILE = 'latchkey.lock';

/** Lock files this process holds: a second hold here would be a bug, not a stale lock. */
const held = new Set<string>();

export class DataDirInUseError extends ProcessError {
  readonly code = 'data_dir_in_use';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the embedded database in ${dataDir} is in use by process ${pid}; stop it, or use the HTTP API`);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** Removes the lock file if it is still ours. Idempotent; also runs at process exit. */
  release(): void;
}

/**
 * Holds `dataDir` (creating it) for this process, or throws {@link DataDirInUseError} naming
 * the running process that holds it. `shownAs` is the data dir as the user wrote it.
 */
export function lockDataDir(dataDir: string, options: { shownAs: string; logger: Logger }): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, LOCK_FILE);
  if (held.has(file)) throw new TypeError(`${file} is already held by this process`);
  const ours = `${process.pid}\n`;
  while (!create(file, ours)) {
    const content = read(file);
    if (content === undefined) continue; // released meanwhile
    const pid = parsePid(content);
    if (pid !== undefined && isRunning(pid)) throw new DataDirInUseError(options.shownAs, pid);
    if (removeIfUnchanged(file, content))
      options.logger.warn({ lockFile: file, pid: pid ?? content }, 'took over a stale lock on the data dir');
  }
  held.add(file);

  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(file);
    process.off('exit', release);
    if (read(file) === ours) unlinkSync(file);
  };
  process.on('exit', release);
  return { release };
}

/**
 * Creates `file` holding `content` unless it exists. Written beside it, then hard-linked into
 * place: unlike `open(..., 'wx')` then write, the lock never exists without its pid in it, so
 * a reader never has to guess what an empty lock file means.
 */
function create(file: string, content: string): boolean {
  const staged = `${file}.${process.pid}`;
  writeFileSync(staged, content, { mode: 0o600 });
  try {
    linkSync(staged, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(staged);
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Anything but a pid (no writer of ours leaves one: see create) holds nothing. */
function parsePid(held: string): number | undefined {
  const pid = Number(held.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Signal 0 checks existence only. EPERM: it runs, as someone else. Our own pid is a previous life's (pid 1 in a restarted container). */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    throw err;
  }
}

/**
 * Removes the stale lock `file` if it still holds `stale`. Two processes may find the same
 * stale lock: each moves it aside (rename is atomic, so only one gets it) and checks that what
 * it moved is the stale lock, not a fresh one the other has created meanwhile, which goes back.
 */
function removeIfUnchanged(file: string, stale: string): boolean {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    if (read(aside) === stale) return true;
    linkSync(aside, file);
    return false;
  } catch (err) {
    // A third process created a lock in the instant ours was aside. Both now believe they hold
    // it; we look again (and refuse). Three starts racing on a stale lock, within microseconds.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(aside);
  }
}
