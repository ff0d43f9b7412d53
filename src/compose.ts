/**
 * Builds the process's services once the database is connected: the signing keys, the usage
 * recorder, the live authentication state and the write path. One function for the server and
 * for the tests, so what is tested is what runs.
 */
import { changes } from './audit/changes';
import { openLiveState } from './auth/state';
import { UsageRecorder } from './auth/usage';
import type { Config } from './config';
import type { Services } from './context';
import type { Database } from './db/database';
import { KeyRing } from './keys/keyring';
import { SecretBox } from './keys/secret-box';
import { UNKEYED_LEGACY_LOOKUPS_PER_MINUTE } from './limits';
import type { Logger } from './logger';
import { PerMinuteLimit } from './rate-limit';
import { Tagger } from './secrets';
import { authenticateLegacy } from './legacy/legacy.service';
import { authenticateSession } from './sessions/sessions.service';
import { authenticateBearer } from './tokens/access-token';
import { TokenEventHub } from './tokens/events.service';

/** Pending last-used times are written this often (each token at most once a minute). */
const USAGE_FLUSH_INTERVAL_MS = 10_000;

export interface ComposeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  /** The embedded database (one connection): the change feed listens in process. */
  readonly embedded: boolean;
  readonly secretKey: string;
  /** Milliseconds since the epoch; default Date.now (tests freeze it). */
  readonly clock?: () => number;
  /** Where the change feed connects; default the database's URL (tests put a proxy in between). */
  readonly feedUrl?: string;
  /** Stop waiting for the first LISTEN (the server is stopping). */
  readonly signal?: AbortSignal;
  /** Write last-used times every 10 s (default); tests flush by hand. */
  readonly flushUsage?: boolean;
  /** Cold lookups of old-format legacy tokens allowed a minute; default the production bound. */
  readonly unkeyedLegacyLookupsPerMinute?: number;
}

export interface Composed {
  readonly services: Services;
  /** Writes pending uses and stops listening; the database stays open (its owner closes it). */
  close(): Promise<void>;
}

export async function compose(options: ComposeOptions): Promise<Composed> {
  const { config, logger, database } = options;
  const clock = options.clock ?? Date.now;
  const keys = await KeyRing.open({
    db: database.db,
    box: new SecretBox(options.secretKey),
    logger,
    alg: config.jwt.alg,
    clock,
    verifiedCacheSize: config.authCacheSize,
  });
  const usage = new UsageRecorder(database.db, clock, logger);
  const events = new TokenEventHub(config.eventStreamsMax);
  const live = await openLiveState({
    database,
    embedded: options.embedded,
    keys,
    cacheSize: config.authCacheSize,
    logger,
    ...(options.feedUrl ? { feedUrl: options.feedUrl } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    observer: {
      onChange(change) {
        if (change.table === 'token_events' && change.op === 'INSERT')
          events.announce(BigInt(String(change.row.id)), (change.row.organization_id as number | null) ?? null);
      },
      onListening: () => events.wakeAll(),
    },
  });
  const flush =
    options.flushUsage === false ? undefined : setInterval(() => void usage.flush(), USAGE_FLUSH_INTERVAL_MS).unref();
  const services: Services = {
    database,
    db: database.db,
    change: changes(database.db, () => live.state.sync()),
    keys,
    usage,
    state: live.state,
    tags: new Tagger(options.secretKey),
    unkeyedLegacyLookups: new PerMinuteLimit(
      options.unkeyedLegacyLookupsPerMinute ?? UNKEYED_LEGACY_LOOKUPS_PER_MINUTE,
      clock,
      'legacy tokens of the old format looked up',
    ),
    verifiers: { access: authenticateBearer, legacy: authenticateLegacy, session: authenticateSession },
    events,
  };
  return {
    services,
    async close() {
      events.close();
      clearInterval(flush);
      await usage.flush();
      await live.close();
    },
  };
}
