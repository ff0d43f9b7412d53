/** Shared between global setup (parent process) and test files (workers) through process.env. */
export const DEFAULT_TEST_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export type TestBackend =
  | { kind: 'postgres'; adminUrl: string; template: string; runId: string }
  | { kind: 'pglite'; dump: string; runId: string };

export const BACKEND_VAR = 'LATCHKEY_TEST_BACKEND';

export function backend(): TestBackend {
  const raw = process.env[BACKEND_VAR];
  if (!raw)
    throw new TypeError(`${BACKEND_VAR} unset: run the tests through jest (global setup prepares the database)`);
  return JSON.parse(raw) as TestBackend;
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
