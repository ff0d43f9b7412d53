/**
 * The browser the web pages' tests drive: CHROMIUM_BIN if set (set it to a path that does not
 * exist to see the skip), else Debian's /usr/bin/chromium (package `chromium`; no browser can
 * be downloaded here), else `chromium` on PATH. Without one those tests are reported as
 * skipped, with the reason printed by global setup; CI sets LATCHKEY_REQUIRE_CHROMIUM=1, which
 * turns the skip into a failure, as LATCHKEY_REQUIRE_NGINX does for nginx (see ./nginx.ts).
 * Apart from ./browser.ts, which drives it, so that global setup loads no browser library.
 */
import { findTool, toolCandidates, type Tool } from './tools';

export const REQUIRE_CHROMIUM_VAR = 'LATCHKEY_REQUIRE_CHROMIUM';

const CHROMIUM: Tool = { name: 'chromium', envVar: 'CHROMIUM_BIN', debianPath: '/usr/bin/chromium' };

export const findChromium = (): string | undefined => findTool(CHROMIUM);

export const chromiumRequired = () => process.env[REQUIRE_CHROMIUM_VAR] === '1';

/** Why the browser tests are skipped, or undefined if they run. */
export function chromiumSkipReason(): string | undefined {
  if (findChromium() || chromiumRequired()) return undefined;
  const where = process.env.CHROMIUM_BIN ? `CHROMIUM_BIN=${process.env.CHROMIUM_BIN}` : '/usr/bin/chromium or on PATH';
  return `chromium not found (${where}): the web pages' browser tests are skipped; install Debian's chromium package to run them (${REQUIRE_CHROMIUM_VAR}=1 makes this a failure, as in CI)`;
}

/** The binary to run; fails with a clear message if it is missing (when LATCHKEY_REQUIRE_CHROMIUM=1). */
export function chromiumBinary(): string {
  const found = findChromium();
  if (!found)
    throw new Error(
      `${REQUIRE_CHROMIUM_VAR}=1 but chromium is not installed (looked for ${toolCandidates(CHROMIUM).join(', ')}); install Debian's chromium package (.ci/run does)`,
    );
  return found;
}

/** `describe`, or `describe.skip` (its title saying why) when there is no chromium and none is required. */
export function describeWithChromium(title: string, fn: () => void): void {
  const reason = chromiumSkipReason();
  if (reason) describe.skip(`${title} (skipped: ${reason})`, fn);
  else describe(title, fn);
}
