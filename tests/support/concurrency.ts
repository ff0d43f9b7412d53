import { BACKEND_VAR, backend } from './env';

/**
 * For tests of behaviour between simultaneous connections (advisory locks, racing
 * instances): they run on a real Postgres server, which CI always has; PGlite serves one
 * connection at a time, so in the fallback they are reported as skipped, with this reason.
 */
export const itWithConcurrentConnections: jest.It =
  process.env[BACKEND_VAR] && backend().kind === 'pglite' ? it.skip : it;

/** The same, for a whole suite whose setup already needs several connections. */
export const describeWithConcurrentConnections: jest.Describe =
  process.env[BACKEND_VAR] && backend().kind === 'pglite' ? describe.skip : describe;
