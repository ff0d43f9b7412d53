/**
 * Errors that stop a command or the server, never an HTTP answer (those are `errors.ts`'s).
 * Each code means one exit status (sysexits.h): a bad setting is 78, something an operator
 * must fix outside the configuration (a migration, a held data dir or port, an unreachable
 * database) is 1. A held data dir or port is not bad configuration: the same command works once
 * its holder stops.
 */
export const PROCESS_ERRORS = {
  bad_usage: { exitCode: 64 },
  invalid_config: { exitCode: 78 },
  migration_failed: { exitCode: 1 },
  database_unavailable: { exitCode: 1 },
  data_dir_in_use: { exitCode: 1 },
  port_in_use: { exitCode: 1 },
  secret_box_open_failed: { exitCode: 1 },
  user_exists: { exitCode: 1 },
  /** Ctrl-C at a prompt: 128 + SIGINT, as a shell reports it. */
  interrupted: { exitCode: 130 },
} as const satisfies Record<string, { readonly exitCode: number }>;

export type ProcessErrorCode = keyof typeof PROCESS_ERRORS;

/** A failure of the process itself; each subclass names its code, as jose's errors do. */
export abstract class ProcessError extends Error {
  abstract readonly code: ProcessErrorCode;

  get exitCode(): number {
    return PROCESS_ERRORS[this.code].exitCode;
  }
}

/** The exit status `err` means: its own for a {@link ProcessError}, 1 for anything else. */
export const exitCodeOf = (err: unknown): number => (err instanceof ProcessError ? err.exitCode : 1);
