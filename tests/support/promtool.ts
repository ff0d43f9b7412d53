/**
 * Prometheus's own linter for the exposition (see ./tools.ts for where it is found, and the skip).
 */
import { spawn } from 'node:child_process';
import { track } from './children';
import { promtool } from './tools';
import { orTimeout } from './wait';

/** `promtool check metrics` on `exposition`: its exit code and what it printed (the problems, one a line). */
export async function checkMetrics(exposition: string): Promise<{ code: number | null; output: string }> {
  const binary = promtool.binary();
  const child = track(spawn(binary, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const closed = new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  child.stdin.end(exposition);
  const code = await orTimeout(closed, () => 'promtool check metrics exits');
  return { code, output };
}
