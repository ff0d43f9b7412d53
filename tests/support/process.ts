/**
 * Runs the built `latchkey` (dist/, built by `pretest`) as a real child process. Every child is
 * tracked (`./children.ts`), so none outlives its test file; waits are for events (a log line,
 * an exit), each with a generous safety timeout (`./wait.ts`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { stopChild, track, type Ended } from './children';
import { EVENT_TIMEOUT_MS, orTimeout } from './wait';

export const ROOT = path.resolve(__dirname, '../..');
export const MAIN = path.join(ROOT, 'dist/main.js');
export const CLI = path.join(ROOT, 'bin/latchkey.js');
/**
 * The children's working directory, unless a test gives one. Not the repository's root: a
 * developer's `.env` there (which `npm start` reads) must not reach a test's server.
 */
export const WORKDIR = path.join(ROOT, 'tests');

/** The parent's environment minus everything Latchkey reads, plus `env` (the metrics exporter off unless `env` sets its port). */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(LATCHKEY_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$|LOG_FORMAT$)/.test(k),
    ),
  );
  // No metrics exporter unless a test asks for one: the default port would collide between test files.
  return { ...base, LATCHKEY_BCRYPT_ROUNDS: '4', LATCHKEY_METRICS_PORT: '0', ...env };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command ...args` to completion; a run that never exits fails the test and is killed. */
export async function runToExit(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  what: string,
): Promise<Finished> {
  const child = track(spawn(command, args, { env: cleanEnv(env), cwd }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const finished = new Promise<Finished>((resolve, reject) =>
    child.on('error', reject).on('close', (code) => resolve({ code, stdout, stderr })),
  );
  try {
    return await orTimeout(finished, () => `${what} exits (stderr: ${stderr})`);
  } finally {
    // Still running only if it timed out.
    await stopChild(child, 'SIGKILL', EVENT_TIMEOUT_MS);
  }
}

/** Runs `latchkey ...args` (in `cwd`, WORKDIR by default) to completion. */
export function runCli(args: string[], env: Record<string, string>, cwd: string = WORKDIR): Promise<Finished> {
  return runToExit(process.execPath, [CLI, ...args], env, cwd, `latchkey ${args.join(' ')}`);
}

/** Runs `npm start`'s entry point to completion: for a start that is expected to fail. */
export function runMain(env: Record<string, string>, cwd: string = WORKDIR): Promise<Finished> {
  return runToExit(process.execPath, [MAIN], env, cwd, 'dist/main.js');
}

/** Holds a loopback port, as another process would, until `release()`. */
export async function holdPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type LogLine = Record<string, unknown>;

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Parsed JSON log lines so far. */
  readonly logs: LogLine[];
  readonly url: string;
  /**
   * The exit code, once the process has exited by itself and all its output is read. Fails
   * after EVENT_TIMEOUT_MS.
   */
  exited(): Promise<number | null>;
  /**
   * The first log line with this `msg` (at once if already logged). Fails if the process exits
   * first, or after EVENT_TIMEOUT_MS.
   */
  logged(msg: string): Promise<LogLine>;
  /** SIGTERM, then the exit code. Fails (having SIGKILLed it) if it does not exit in time. */
  stop(): Promise<number | null>;
}

/** A JSON POST to a running server: its status and parsed body (`{}` for a 204). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, string>) };
}

/** The node flags `npm start` runs with (the heap cap among them). */
export const START_FLAGS: readonly string[] = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(' ')
  .filter((arg) => arg.startsWith('--'));

/**
 * Starts `npm start`'s entry point (with `nodeFlags`) and resolves once it logs where it
 * listens (not yet ready: `await server.logged('ready')` for that).
 */
export async function startProcess(
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Promise<ServerProcess> {
  const child = track(
    spawn(process.execPath, [...nodeFlags, MAIN], {
      env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
      cwd: WORKDIR,
    }),
  );
  const logs: LogLine[] = [];
  /** Called on every new log line. */
  const waiters = new Set<() => void>();
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ unparsed: line });
      }
      for (const waiter of waiters) waiter();
    }
  });
  // 'close', not 'exit': by then every line the process wrote has been read.
  const closed = new Promise<Ended>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const describe = () =>
    `pid ${child.pid}; last log lines: ${logs
      .slice(-5)
      .map((l) => JSON.stringify(l))
      .join(' ')}; stderr: ${stderr.slice(-2_000)}`;

  const logged = (msg: string) =>
    orTimeout(
      new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const line = logs.find((l) => l.msg === msg);
          if (!line) return;
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        check();
        void closed.then(({ code, signal }) =>
          reject(new Error(`the server exited (${code ?? signal}) before logging "${msg}" (${describe()})`)),
        );
      }),
      () => `the server logs "${msg}" (${describe()})`,
    );

  const exited = () =>
    orTimeout(
      closed.then(({ code }) => code),
      () => `the server exits (${describe()})`,
    );

  const stop = async () => {
    const { killed } = await stopChild(child, 'SIGTERM', EVENT_TIMEOUT_MS);
    const { code } = await closed;
    if (killed)
      throw new Error(
        `the server did not exit within ${EVENT_TIMEOUT_MS / 1000} s of SIGTERM; killed it (${describe()})`,
      );
    return code;
  };

  const listening = await logged('listening').catch(async (err: unknown) => {
    // Never listened: of no use to the caller, who has no handle on it to stop.
    await stopChild(child, 'SIGKILL', EVENT_TIMEOUT_MS);
    throw err;
  });
  return { child, logs, url: listening.url as string, exited, logged, stop };
}
