/** createApp() wired to a real test database and a log sink the test can read. */
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { Database } from '../../src/db/database';
import { readMigrations, type Migration } from '../../src/db/migrator';
import type { AuthState } from '../../src/auth/state';
import type { UsageRecorder } from '../../src/auth/usage';
import { compose } from '../../src/compose';
import type { Tagger } from '../../src/secrets';
import type { KeyRing } from '../../src/keys/keyring';
import { SecretBox } from '../../src/keys/secret-box';
import { createLogger, type Logger } from '../../src/logger';
import { Metrics } from '../../src/metrics/metrics';
import { createTestDatabase, type TestDatabase } from './db';
import { frozenClock, type FrozenClock } from './clock';
import { startProxy, type CuttableProxy } from './proxy';

// Exported here too, as before; unit tests import ./clock, which loads neither the app nor a database.
export { frozenClock, type FrozenClock };

/** Every log line written, raw (as it would reach stdout). */
export interface LogSink {
  readonly lines: string[];
  readonly logger: Logger;
  text(): string;
}

export function captureLogs(level = 'trace'): LogSink {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (chunk: string) => void lines.push(chunk) });
  return { lines, logger, text: () => lines.join('') };
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    LATCHKEY_SECRET_KEY: randomBytes(32).toString('base64url'),
    LATCHKEY_BCRYPT_ROUNDS: '4',
    DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused',
    // No exporter on the default port: test files run in parallel (a test that wants one names a port).
    LATCHKEY_METRICS_PORT: '0',
    ...env,
  });
}

export interface TestApp {
  readonly app: Express;
  readonly config: Config;
  readonly db: TestDatabase;
  readonly database: Database;
  readonly keys: KeyRing;
  readonly usage: UsageRecorder;
  readonly state: AuthState;
  readonly tags: Tagger;
  readonly box: SecretBox;
  readonly logs: LogSink;
  readonly clock: FrozenClock;
  readonly proxy: CuttableProxy | undefined;
  readonly feedProxy: CuttableProxy | undefined;
  /** What the app measured (a registry of its own): `metrics.exposition()` is what `/metrics` would serve. */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  /** Replaces the migrations the app expects to be applied (readiness tests). */
  readonly migrations?: readonly Migration[];
  /** Default: a frozen clock. */
  readonly clock?: FrozenClock;
  /** Connect through a proxy the test can cut (fault tests). */
  readonly viaProxy?: boolean;
  /** Cold lookups of old-format legacy tokens allowed a minute (default the production bound). */
  readonly unkeyedLegacyLookupsPerMinute?: number;
  /** The change feed alone connects through a proxy of its own (`feedProxy`). */
  readonly feedViaProxy?: boolean;
}

/** A fresh migrated database, a connected pool and the app. `close()` in afterAll. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const logs = captureLogs();
  const direct = new URL(db.url);
  const proxy = options.viaProxy ? await startProxy(direct.hostname, Number(direct.port || 5432)) : undefined;
  const feedProxy = options.feedViaProxy ? await startProxy(direct.hostname, Number(direct.port || 5432)) : undefined;
  const viaProxy = (p: CuttableProxy) => Object.assign(new URL(db.url), { port: String(p.port) }).toString();
  const url = proxy ? viaProxy(proxy) : db.url;
  const config = testConfig({ DATABASE_URL: url, ...options.env });
  const database = await Database.connect(url, {
    poolSize: db.poolSize,
    connectTimeoutSeconds: 5,
    queryTimeoutSeconds: config.db.queryTimeoutSeconds,
    logger: logs.logger,
  });
  const migrations = options.migrations ?? (await readMigrations());
  const clock = options.clock ?? frozenClock();
  const box = new SecretBox(config.secretKey!);
  const composed = await compose({
    config,
    logger: logs.logger,
    database,
    embedded: db.poolSize === 1,
    secretKey: config.secretKey!,
    clock,
    flushUsage: false,
    ...(feedProxy ? { feedUrl: viaProxy(feedProxy) } : {}),
    ...(options.unkeyedLegacyLookupsPerMinute !== undefined
      ? { unkeyedLegacyLookupsPerMinute: options.unkeyedLegacyLookupsPerMinute }
      : {}),
  });
  const { services } = composed;
  const { keys, usage, state, tags } = services;
  const metrics = new Metrics(() => services);
  const app = createApp({ config, logger: logs.logger, services: () => services, migrations, clock, metrics });
  return {
    app,
    config,
    db,
    database,
    keys,
    usage,
    state,
    tags,
    box,
    logs,
    clock,
    proxy,
    feedProxy,
    metrics,
    async close() {
      await composed.close();
      // A test may have ended the pool itself.
      await database.close().catch(() => undefined);
      await proxy?.close();
      await feedProxy?.close();
      await db.drop();
    },
  };
}
