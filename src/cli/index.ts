/**
 * The `latchkey` command.
 *
 *   latchkey serve                                    start the server (what `npm start` runs)
 *   latchkey migrate                                  apply pending migrations, then exit
 *   latchkey create-admin --email E --password P --org TITLE
 *
 * Exit codes: 0 ok, 1 failure, 64 bad usage, 78 bad configuration (sysexits.h).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config';
import { Database } from '../db/database';
import { startEmbedded } from '../db/embedded';
import { migrate, readMigrations } from '../db/migrator';
import { createLogger, type Logger } from '../logger';
import { createOrganizationWithOwner } from '../orgs/orgs.store';
import { startServer } from '../server';
import { hashPassword } from '../users/passwords';

const USAGE = `usage: latchkey <command>
  serve                                            start the server
  migrate                                          apply pending database migrations
  create-admin --email EMAIL --password PASSWORD --org TITLE
                                                   create an organization and its owner`;

class UsageError extends Error {}

/** Opens the configured database (embedded or external) for a one-shot command. */
async function withDatabase<T>(config: Config, logger: Logger, fn: (db: Database) => Promise<T>): Promise<T> {
  const embedded = config.databaseUrl ? undefined : await startEmbedded(config.dataDir, config.db.embeddedPort);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    const db = await Database.connect(url, { poolSize: 1, connectTimeoutSeconds: config.db.connectTimeoutSeconds, logger });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    await embedded?.stop();
  }
}

async function serve(config: Config, logger: Logger): Promise<undefined> {
  const server = await startServer(config, logger);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
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
    process.exit(1);
  }
  return undefined;
}

async function createAdmin(config: Config, logger: Logger, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' }, org: { type: 'string' } }, strict: true });
  const missing = (['email', 'password', 'org'] as const).filter((name) => !values[name]);
  if (missing.length) throw new UsageError(`create-admin: missing --${missing.join(', --')}`);
  if (values.password!.length < 8) throw new UsageError('create-admin: --password must be at least 8 characters');
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email!)) throw new UsageError('create-admin: --email is not an email address');
  const passwordHash = await hashPassword(values.password!, config.bcryptRounds);
  const { organization, user } = await withDatabase(config, logger, async (db) => {
    await db.withClient(async (client) => migrate(client, await readMigrations()));
    return createOrganizationWithOwner(db.prisma, { email: values.email!, passwordHash, organization: values.org! });
  });
  process.stdout.write(`${JSON.stringify({ user_id: user.id, email: user.email, organization: { id: organization.id, title: organization.title }, role: 'owner' })}\n`);
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
    return 78;
  }
  // One-shot commands log to stderr so their stdout stays machine-readable.
  const logger = createLogger(config.logLevel, command === 'serve' ? undefined : process.stderr);
  try {
    switch (command) {
      case 'serve':
        return await serve(config, logger);
      case 'migrate': {
        const applied = await withDatabase(config, logger, (db) => db.withClient(async (client) => migrate(client, await readMigrations())));
        process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database schema up to date\n');
        return 0;
      }
      case 'create-admin':
        return await createAdmin(config, logger, rest);
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
      return 64;
    }
    process.stderr.write(`latchkey: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exit(code);
  });
}
