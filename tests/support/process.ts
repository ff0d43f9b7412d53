/** Runs the built `latchkey` (dist/, built by `pretest`) as a real child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const MAIN = path.join(ROOT, 'dist/main.js');
export const CLI = path.join(ROOT, 'bin/latchkey.js');

/** The parent's environment minus everything Latchkey reads, plus `env`. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LATCHKEY_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$)/.test(k)));
  return { ...base, LATCHKEY_BCRYPT_ROUNDS: '4', ...env };
}

export interface Finished { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], env: Record<string, string>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject).on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  readonly url: string;
  /** The first log line with this `msg` (past or future); rejects if the process exits first. */
  waitForLog(msg: string): Promise<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** The node flags `npm start` runs with (the heap cap among them). */
export const START_FLAGS: readonly string[] = (require(path.join(ROOT, 'package.json')) as { scripts: { start: string } }).scripts.start.split(' ').filter((arg) => arg.startsWith('--'));

/** Starts `npm start`'s entry point (with `nodeFlags`) and resolves once it logs where it listens. */
export function startProcess(env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeFlags, MAIN], { env: cleanEnv({ PORT: '0', HOST: '127.0.0.1', ...env }), cwd: ROOT });
  const logs: Record<string, unknown>[] = [];
  const waiting: { msg: string; resolve(line: Record<string, unknown>): void }[] = [];
  let buffered = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr.on('data', (c) => (stderr += c));
  const waitForLog = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = logs.find((line) => line.msg === msg);
      if (seen) return resolve(seen);
      waiting.push({ msg, resolve });
      void exited.then((code) => reject(new Error(`server exited with ${code} before logging "${msg}": ${stderr}`)));
    });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        for (const w of waiting.filter((w) => w.msg === line.msg)) w.resolve(line);
        if (line.msg === 'listening') {
          resolve({ child, logs, url: line.url, waitForLog, stop: () => (child.kill('SIGTERM'), exited) });
        }
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
}

/** Polls `url` until it answers 200; returns how long that took. */
export async function waitFor200(url: string, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const status = await fetch(url).then((r) => r.status, () => 0);
    if (status === 200) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
