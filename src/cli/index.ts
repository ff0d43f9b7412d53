/**
 * The `latchkey` command.
 *
 *   latchkey serve                                    start the server (what `npm start` runs)
 *   latchkey migrate                                  apply pending migrations, then exit
 *   latchkey create-admin --email E --password P --org TITLE
 *   latchkey keys rotate|list                         new signing key; list the keys
 *   latchkey settings get|set --org ID [key=value...]  an organization's token settings
 *
 * Exit codes: 0 ok, 1 failure, 64 bad usage, 78 bad configuration (sysexits.h). A data dir
 * held by a running server is a failure (1), not bad configuration: the same command, unchanged,
 * works once that server stops.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig, type Config } from '../config';
import type { Database } from '../db/database';
import { lockDataDir } from '../db/data-dir-lock';
import { migrate, readMigrations } from '../db/migrator';
import { openDatabase } from '../db/open';
import { changes } from '../audit/changes';
import { rotateSigningKey } from '../keys/keyring';
import { listAllKeys } from '../keys/keys.store';
import { SecretBox } from '../keys/secret-box';
import { resolveSecretKey } from '../keys/secret-key';
import { createLogger, type Logger } from '../logger';
import { exitCodeOf, PROCESS_ERRORS, ProcessError } from '../process-errors';
import { fieldErrors } from '../http/validate';
import { MIN_PASSWORD_LENGTH } from '../limits';
import { applySettings, createOrganizationWithOwner } from '../orgs/orgs.service';
import { findOrganization } from '../orgs/orgs.store';
import { settingsOf, settingsPatch, type SettingsPatch } from '../orgs/settings';
import { startServer } from '../server';
import { hashPassword } from '../users/passwords';

const USAGE = `usage: latchkey <command>
  serve                                            start the server
  migrate                                          apply pending database migrations
  create-admin --email EMAIL --password PASSWORD --org TITLE
                                                   create an organization and its owner
  keys rotate                                      make a new signing key (old ones keep verifying)
  keys list                                        list signing keys
  settings get --org ID                            an organization's token settings
  settings set --org ID key=value ...              change them (api_tokens_enabled, legacy_api_tokens_enabled,
                                                   api_token_ttl_days, access_token_ttl_seconds)`;

class UsageError extends ProcessError {
  readonly code = 'bad_usage';
}

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
      const applied = await opened.database.withClient(async (client) => migrate(client, await readMigrations()));
      return await fn(opened.database, applied);
    } finally {
      await opened.close();
    }
  } finally {
    lock?.release();
  }
}

/** `latchkey settings get|set --org ID [key=value ...]`: token policy as code, no UI needed. */
async function settings(config: Config, logger: Logger, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { org: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...pairs] = positionals;
  if (!values.org || !/^\d+$/.test(values.org)) throw new UsageError('settings: --org ID is required');
  const organizationId = Number(values.org);
  let patch: SettingsPatch = {};
  if (action === 'set') {
    if (!pairs.length) throw new UsageError('settings set: give at least one key=value');
    const raw: Record<string, string> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new UsageError(`settings set: "${pair}" is not key=value`);
      raw[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const parsed = settingsPatch.safeParse(raw);
    if (!parsed.success)
      throw new UsageError(
        `settings set: ${Object.entries(fieldErrors(parsed.error))
          .map(([k, m]) => `${k}: ${m.join(' ')}`)
          .join('; ')}`,
      );
    patch = parsed.data;
  } else if (action !== 'get' || pairs.length) {
    throw new UsageError('settings: get or set?');
  }
  return withDatabase(config, logger, async (db) => {
    const result =
      action === 'set'
        ? await applySettings(changes(db.db), organizationId, patch, { actorUserId: null, via: 'cli' })
        : await findOrganization(db.db, organizationId).then((org) => org && settingsOf(org));
    if (!result) throw new Error(`no organization ${organizationId}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  });
}

async function keys(config: Config, logger: Logger, args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (rest.length) throw new UsageError(`keys: unexpected argument "${rest[0]}"`);
  return withDatabase(config, logger, async (db) => {
    // Inside: with the embedded database the key lives in the (now held) data dir.
    const box = new SecretBox((await resolveSecretKey(config)).value);
    switch (action) {
      case 'rotate': {
        const { key, retired } = await rotateSigningKey(db.db, box, config.jwt.alg);
        process.stdout.write(`${JSON.stringify({ kid: key.kid, alg: key.alg, state: key.state, retired })}\n`);
        return 0;
      }
      case 'list': {
        const rows = await listAllKeys(db.db);
        for (const row of rows)
          process.stdout.write(
            `${JSON.stringify({ kid: row.kid, alg: row.alg, state: row.state, created_at: row.createdAt, retired_at: row.retiredAt })}\n`,
          );
        return 0;
      }
      default:
        throw new UsageError(action ? `keys: unknown action "${action}"` : 'keys: rotate or list?');
    }
  });
}

async function serve(config: Config, logger: Logger): Promise<undefined> {
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

async function createAdmin(config: Config, logger: Logger, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, password: { type: 'string' }, org: { type: 'string' } },
    strict: true,
  });
  const missing = (['email', 'password', 'org'] as const).filter((name) => !values[name]);
  if (missing.length) throw new UsageError(`create-admin: missing --${missing.join(', --')}`);
  if (values.password!.length < MIN_PASSWORD_LENGTH)
    throw new UsageError(`create-admin: --password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email!)) throw new UsageError('create-admin: --email is not an email address');
  const passwordHash = await hashPassword(values.password!, config.bcryptRounds);
  const { organization, user } = await withDatabase(config, logger, (db) =>
    createOrganizationWithOwner(changes(db.db), {
      email: values.email!,
      passwordHash,
      organization: values.org!,
      settings: config.defaultOrgSettings,
    }),
  );
  process.stdout.write(
    `${JSON.stringify({ user_id: user.id, email: user.email, organization: { id: organization.id, title: organization.title }, role: 'owner' })}\n`,
  );
  return 0;
}

/** Runs one command; resolves to an exit code (undefined: keep running, as `serve` does). */
export async function run(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`latchkey: invalid configuration: ${err.message}\n`);
    return err.exitCode;
  }
  // One-shot commands log to stderr so their stdout stays machine-readable.
  const logger = createLogger(config.logLevel, command === 'serve' ? undefined : process.stderr);
  try {
    switch (command) {
      case 'serve':
        return await serve(config, logger);
      case 'migrate':
        return await withDatabase(config, logger, (_db, applied) => {
          process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database schema up to date\n');
          return 0;
        });
      case 'create-admin':
        return await createAdmin(config, logger, rest);
      case 'keys':
        return await keys(config, logger, rest);
      case 'settings':
        return await settings(config, logger, rest);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command ? 0 : 64;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`latchkey: ${(err as Error).message}\n${USAGE}\n`);
      return PROCESS_ERRORS.bad_usage.exitCode;
    }
    process.stderr.write(`latchkey: ${(err as Error).message}\n`);
    return exitCodeOf(err);
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exit(code);
  });
}
