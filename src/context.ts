import type { Change } from './audit/changes';
import type { Verifiers } from './auth/authenticate';
import type { AuthState } from './auth/state';
import type { UsageRecorder } from './auth/usage';
import type { Config } from './config';
import type { Database } from './db/database';
import type { Db } from './db/handle';
import type { KeyRing } from './keys/keyring';
import type { Logger } from './logger';
import type { PerMinuteLimit } from './rate-limit';
import type { Tagger } from './secrets';
import type { TokenEventHub } from './tokens/events.service';

/** What the process has once it is ready (built by `compose()`, for the server and the tests alike). */
export interface Services {
  readonly database: Database;
  /** Reads: each store call on a pooled connection of its own. */
  readonly db: Db;
  /** Writes: one transaction with its audit event, applied here before it returns. */
  readonly change: Change;
  readonly keys: KeyRing;
  /** Notes token uses for `last_used_at`. */
  readonly usage: UsageRecorder;
  /** The in-memory copy of what authentication reads (kept current by the change feed). */
  readonly state: AuthState;
  /** Keyed tags for session cookies and legacy tokens (see {@link Tagger}). */
  readonly tags: Tagger;
  /** Bounds the database lookups of legacy tokens in the old, unkeyed format. */
  readonly unkeyedLegacyLookups: PerMinuteLimit;
  /** Each credential kind's verifier, supplied by the room that issues it. */
  readonly verifiers: Verifiers;
  /** The revocation streams this instance serves (GET /api/token/events), woken by the change feed. */
  readonly events: TokenEventHub;
}

/** Everything a service function needs: the services, the configuration, the logger and the clock. */
export interface Context extends Omit<Services, 'database'> {
  readonly config: Config;
  readonly logger: Logger;
  /** Milliseconds since the epoch; tests freeze it. */
  readonly clock: () => number;
}

/** Seconds since the epoch, as JWTs count. */
export const epochSeconds = (ctx: Pick<Context, 'clock'>) => Math.floor(ctx.clock() / 1000);
