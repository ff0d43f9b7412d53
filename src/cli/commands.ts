/**
 * What the `latchkey` commands do, once their arguments have been checked (`./index.ts`).
 * Loaded only to run one: asking for help loads none of this (no database driver, no server).
 */
import { setFlagsFromString } from 'node:v8';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { lockDataDir } from '../db/data-dir-lock';
import { migrate as applyMigrations, readMigrations } from '../db/migrator';
import { openDatabase } from '../db/open';
import { changes } from '../audit/changes';
import { rotateSigningKey } from '../keys/keyring';
import { listAllKeys } from '../keys/keys.store';
import { SecretBox } from '../keys/secret-box';
import { resolveSecretKey } from '../keys/secret-key';
import type { Logger } from '../logger';
import { exitCodeOf } from '../process-errors';
import { applySettings, createOrganizationWithOwner } from '../orgs/orgs.service';
import { findOrganization } from '../orgs/orgs.store';
import { settingsOf, type SettingsPatch } from '../orgs/settings';
import { startServer } from '../server';
import { Tagger } from '../secrets';
import { setupCode } from '../setup/setup.service';
import { hashPassword } from '../users/passwords';

/**
 * Opens the configured database (embedded or external), migrated, for a one-shot command; `fn`
 * also gets the migrations this applied. The embedded one only if no other process holds its
 * data dir: a command beside a running server would write where that server never looks.
 */
async function withDatabase<T>(
  config: Config,
  logger: Logger,
  fn: (db: Database, applied: string[]) => T | Promise<T>,
): Promise<T> {
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, { shownAs: config.dataDirAsGiven, logger });
  try {
    const opened = await openDatabase(config, logger, { poolSize: 1 });
    try {
      const applied = await opened.database.withClient(async (client) =>
        applyMigrations(client, await readMigrations()),
      );
      return await fn(opened.database, applied);
    } finally {
      await opened.close();
    }
  } finally {
    lock?.release();
  }
}

const print = (line: unknown) => process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);

/** `latchkey serve`: resolves at once to undefined (keep running) once listening. */
export async function serve(config: Config, logger: Logger): Promise<undefined> {
  // Prisma's query compiler is WebAssembly that runs once per query shape (plans are cached).
  // V8's optimizing tier would recompile it in the background for ~90 MB of resident memory
  // and no measurable gain here, so keep it on the baseline compiler. Not with the embedded
  // database: PGlite is WebAssembly too, and there the optimizing tier matters.
  if (config.databaseUrl) setFlagsFromString('--liftoff-only');
  const server = await startServer(config, logger);
  // Flush the log before exiting, asynchronously: pino's own flush at exit is synchronous, and
  // on a stdout whose reader has gone (EPIPE) it retries forever, so the process would hang.
  const exit = (code: number) => {
    setTimeout(() => process.exit(code), 1_000).unref();
    logger.flush(() => process.exit(code));
  };
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  try {
    await server.ready;
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'could not start');
    await server.stop().catch(() => undefined);
    exit(exitCodeOf(err));
  }
  return undefined;
}

export function migrate(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, (_db, applied) => {
    print(applied.length ? `applied ${applied.join(', ')}` : 'database schema up to date');
    return 0;
  });
}

export interface NewOwner {
  readonly email: string;
  readonly password: string;
  readonly organization: string;
}

export async function createAdmin(config: Config, logger: Logger, owner: NewOwner): Promise<number> {
  const passwordHash = await hashPassword(owner.password, config.bcryptRounds);
  const { organization, user } = await withDatabase(config, logger, (db) =>
    createOrganizationWithOwner(changes(db.db), {
      email: owner.email,
      passwordHash,
      organization: owner.organization,
      settings: config.defaultOrgSettings,
    }),
  );
  print({
    user_id: user.id,
    email: user.email,
    organization: { id: organization.id, title: organization.title },
    role: 'owner',
  });
  return 0;
}

/**
 * `latchkey setup-code`: the first-run code, from the secret key alone (no database, no lock:
 * it may run beside the server). With the embedded database the key is the one the first start
 * generated; none is made here.
 */
export async function printSetupCode(config: Config, _logger: Logger): Promise<number> {
  const secret = await resolveSecretKey(config, { generate: false });
  print(setupCode(new Tagger(secret.value)));
  return 0;
}

export function rotateKey(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, async (db) => {
    // Inside: with the embedded database the key lives in the (now held) data dir.
    const box = new SecretBox((await resolveSecretKey(config)).value);
    const { key, retired } = await rotateSigningKey(db.db, box, config.jwt.alg);
    print({ kid: key.kid, alg: key.alg, state: key.state, retired });
    return 0;
  });
}

export function listKeys(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, async (db) => {
    for (const row of await listAllKeys(db.db))
      print({ kid: row.kid, alg: row.alg, state: row.state, created_at: row.createdAt, retired_at: row.retiredAt });
    return 0;
  });
}

/** Prints an organization's token settings, after applying `patch` if one is given. */
export function settings(
  config: Config,
  logger: Logger,
  organizationId: number,
  patch: SettingsPatch | undefined,
): Promise<number> {
  return withDatabase(config, logger, async (db) => {
    const result = patch
      ? await applySettings(changes(db.db), organizationId, patch, { actorUserId: null, via: 'cli' })
      : await findOrganization(db.db, organizationId).then((org) => org && settingsOf(org));
    if (!result) throw new Error(`no organization ${organizationId}`);
    print(result);
    return 0;
  });
}
