/**
 * The nginx the forward-auth test runs: NGINX_BIN if set (set it to a path that does not exist
 * to see the skip), else Debian's /usr/sbin/nginx (`nginx-light`), else `nginx` on PATH.
 * Without one those tests are reported as skipped, with the reason printed by global setup;
 * CI sets LATCHKEY_REQUIRE_NGINX=1, which turns the skip into a failure, so CI always runs them.
 */
import { findTool, toolCandidates, type Tool } from './tools';

export const REQUIRE_NGINX_VAR = 'LATCHKEY_REQUIRE_NGINX';

const NGINX: Tool = { name: 'nginx', envVar: 'NGINX_BIN', debianPath: '/usr/sbin/nginx' };

/** The nginx binary, or undefined if there is none. */
export function findNginx(): string | undefined {
  return findTool(NGINX);
}

export const nginxRequired = () => process.env[REQUIRE_NGINX_VAR] === '1';

/** Why the nginx tests are skipped, or undefined if they run. */
export function nginxSkipReason(): string | undefined {
  if (findNginx() || nginxRequired()) return undefined;
  const where = process.env.NGINX_BIN ? `NGINX_BIN=${process.env.NGINX_BIN}` : '/usr/sbin/nginx or on PATH';
  return `nginx not found (${where}): the nginx forward-auth tests are skipped; install nginx-light to run them (${REQUIRE_NGINX_VAR}=1 makes this a failure, as in CI)`;
}

/** The binary to run; fails with a clear message if it is missing (when LATCHKEY_REQUIRE_NGINX=1). */
export function nginxBinary(): string {
  const found = findNginx();
  if (!found)
    throw new Error(
      `${REQUIRE_NGINX_VAR}=1 but nginx is not installed (looked for ${toolCandidates(NGINX).join(', ')}); install nginx-light (.ci/run does)`,
    );
  return found;
}

/** `describe`, or `describe.skip` (its title saying why) when there is no nginx and none is required. */
export function describeWithNginx(title: string, fn: () => void): void {
  const reason = nginxSkipReason();
  if (reason) describe.skip(`${title} (skipped: ${reason})`, fn);
  else describe(title, fn);
}
