import type { AuthState } from './auth/state';
import type { UsageRecorder } from './auth/usage';
import type { Config } from './config';
import type { Database, PrismaClient } from './db/database';
import type { KeyRing } from './keys/keyring';
import type { Logger } from './logger';

/** What the process has once it is ready: the database and the signing keys. */
export interface Services {
  readonly database: Database;
  readonly keys: KeyRing;
  readonly usage: UsageRecorder;
  readonly state: AuthState;
}

/** Everything a service function needs; routes get it from {@link AppDeps.services}. */
export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  readonly prisma: PrismaClient;
  readonly keys: KeyRing;
  /** Notes token uses for `last_used_at`. */
  readonly usage: UsageRecorder;
  /** The in-memory copy of what authentication reads (kept current by the change feed). */
  readonly state: AuthState;
  /** Milliseconds since the epoch; tests freeze it. */
  readonly clock: () => number;
}

/** Seconds since the epoch, as JWTs count. */
export const epochSeconds = (ctx: Pick<Context, 'clock'>) => Math.floor(ctx.clock() / 1000);
