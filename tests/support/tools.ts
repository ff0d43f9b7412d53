/**
 * External programs some tests run (nginx, promtool, docker compose, chromium): found at the
 * path in their environment variable if set (set it to a path that does not exist to see the
 * skip), else where Debian's package installs them, else on PATH. Without one, the tests that
 * need it are reported as skipped, the reason printed once by global setup; CI sets the tool's
 * LATCHKEY_REQUIRE_* variable, which turns the skip into a failure, so CI always runs them.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export interface ToolSpec {
  /** The program's file name, looked for on PATH. */
  readonly name: string;
  /** Where Debian's package installs it. */
  readonly debianPath: string;
  /** The variable that may point at it (e.g. NGINX_BIN). */
  readonly envVar: string;
  /** The variable that makes its absence a failure (e.g. LATCHKEY_REQUIRE_NGINX). */
  readonly requireVar: string;
  /** The Debian package that has it. */
  readonly debianPackage: string;
  /** What is skipped without it, for the printed reason ("the nginx forward-auth tests"). */
  readonly skips: string;
}

export interface ExternalTool {
  /** The program, or undefined if there is none. */
  find(): string | undefined;
  /** Why its tests are skipped, or undefined if they run. */
  skipReason(): string | undefined;
  /** The program to run; throws a clear message when it is required and missing. */
  binary(): string;
  /** `describe`, or `describe.skip` (its title saying why) without the program. */
  describe(title: string, fn: () => void): void;
  /** `it`, or `it.skip` (its title saying why) without the program. */
  it(title: string, fn: () => Promise<void>, timeout?: number): void;
}

export function externalTool(spec: ToolSpec): ExternalTool {
  const candidates = () => {
    const given = process.env[spec.envVar];
    if (given) return [given];
    const onPath = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, spec.name));
    return [spec.debianPath, ...onPath];
  };
  const find = () => candidates().find(executable);
  const required = () => process.env[spec.requireVar] === '1';
  const skipReason = () => {
    if (find() || required()) return undefined;
    const where = process.env[spec.envVar]
      ? `${spec.envVar}=${process.env[spec.envVar]}`
      : `${spec.debianPath} or on PATH`;
    return `${spec.name} not found (${where}): ${spec.skips} are skipped; install Debian's ${spec.debianPackage} package to run them (${spec.requireVar}=1 makes this a failure, as in CI)`;
  };
  return {
    find,
    skipReason,
    binary() {
      const found = find();
      if (!found)
        throw new Error(
          `${spec.requireVar}=1 but ${spec.name} is not installed (looked for ${candidates().join(', ')}); install Debian's ${spec.debianPackage} package (.ci/run does)`,
        );
      return found;
    },
    describe(title, fn) {
      const reason = skipReason();
      if (reason) describe.skip(`${title} (skipped: ${reason})`, fn);
      else describe(title, fn);
    },
    it(title, fn, timeout) {
      const reason = skipReason();
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn, timeout);
      else it(title, fn, timeout);
    },
  };
}

/** The forward-auth test's reverse proxy. */
export const nginx = externalTool({
  name: 'nginx',
  debianPath: '/usr/sbin/nginx',
  envVar: 'NGINX_BIN',
  requireVar: 'LATCHKEY_REQUIRE_NGINX',
  debianPackage: 'nginx-light',
  skips: 'the nginx forward-auth tests',
});

/** Prometheus's linter for the metrics exposition. */
export const promtool = externalTool({
  name: 'promtool',
  debianPath: '/usr/bin/promtool',
  envVar: 'PROMTOOL_BIN',
  requireVar: 'LATCHKEY_REQUIRE_PROMTOOL',
  debianPackage: 'prometheus',
  skips: 'the `promtool check metrics` test of the exposition',
});

/** Renders the compose file (`docker-compose config` needs no Docker daemon). */
export const dockerCompose = externalTool({
  name: 'docker-compose',
  debianPath: '/usr/bin/docker-compose',
  envVar: 'DOCKER_COMPOSE_BIN',
  requireVar: 'LATCHKEY_REQUIRE_COMPOSE',
  debianPackage: 'docker-compose',
  skips: 'the compose file checks',
});

/** The browser the web pages' tests drive (through playwright-core, which cannot download one here). */
export const chromium = externalTool({
  name: 'chromium',
  debianPath: '/usr/bin/chromium',
  envVar: 'CHROMIUM_BIN',
  requireVar: 'LATCHKEY_REQUIRE_CHROMIUM',
  debianPackage: 'chromium',
  skips: "the web pages' browser tests",
});

/** Every tool, for global setup to print why any is missing. */
export const EXTERNAL_TOOLS: readonly ExternalTool[] = [nginx, promtool, dockerCompose, chromium];
