/**
 * Prometheus's own linter for the exposition: PROMTOOL_BIN if set, else Debian's
 * /usr/bin/promtool (package `prometheus`), else `promtool` on PATH. Without one the check is
 * reported as skipped, with the reason printed by global setup; CI sets
 * LATCHKEY_REQUIRE_PROMTOOL=1, which turns the skip into a failure, as LATCHKEY_REQUIRE_NGINX
 * does for nginx (see ./nginx.ts).
 */
import { spawn } from 'node:child_process';
import { track } from './children';
import { findTool, toolCandidates, type Tool } from './tools';
import { orTimeout } from './wait';

export const REQUIRE_PROMTOOL_VAR = 'LATCHKEY_REQUIRE_PROMTOOL';

const PROMTOOL: Tool = { name: 'promtool', envVar: 'PROMTOOL_BIN', debianPath: '/usr/bin/promtool' };

export const findPromtool = (): string | undefined => findTool(PROMTOOL);

export const promtoolRequired = () => process.env[REQUIRE_PROMTOOL_VAR] === '1';

/** Why the promtool check is skipped, or undefined if it runs. */
export function promtoolSkipReason(): string | undefined {
  if (findPromtool() || promtoolRequired()) return undefined;
  const where = process.env.PROMTOOL_BIN ? `PROMTOOL_BIN=${process.env.PROMTOOL_BIN}` : '/usr/bin/promtool or on PATH';
  return `promtool not found (${where}): \`promtool check metrics\` on the exposition is skipped; install Debian's prometheus package to run it (${REQUIRE_PROMTOOL_VAR}=1 makes this a failure, as in CI)`;
}

/** `it`, or `it.skip` (its title saying why) when there is no promtool and none is required. */
export function itWithPromtool(title: string, fn: () => Promise<void>, timeout?: number): void {
  const reason = promtoolSkipReason();
  if (reason) it.skip(`${title} (skipped: ${reason})`, fn, timeout);
  else it(title, fn, timeout);
}

/** `promtool check metrics` on `exposition`: its exit code and what it printed (the problems, one a line). */
export async function checkMetrics(exposition: string): Promise<{ code: number | null; output: string }> {
  const binary = findPromtool();
  if (!binary)
    throw new Error(
      `${REQUIRE_PROMTOOL_VAR}=1 but promtool is not installed (looked for ${toolCandidates(PROMTOOL).join(', ')}); install Debian's prometheus package (.ci/run does)`,
    );
  const child = track(spawn(binary, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const closed = new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  child.stdin.end(exposition);
  const code = await orTimeout(closed, () => 'promtool check metrics exits');
  return { code, output };
}
