/**
 * The `latchkey` command (`latchkey --help` lists what it does). The commands are declared in
 * one table, {@link COMMANDS}: their options and descriptions, from which both the strict parsing
 * and the help are made (`./usage.ts`), and a plan that checks the arguments before anything
 * runs. Asking for help, or a command line that is wrong, reads no configuration and touches no
 * database, data dir or port; the code that does (`./commands.ts`) is not even loaded.
 *
 * Settings come from the environment, and from a `.env` file in the working directory (the
 * environment wins): read here, once, before the configuration, for `npm start` and every
 * command alike.
 *
 * Exit codes: 0 ok, 1 failure, 64 bad usage, 78 bad configuration (sysexits.h). A data dir or
 * port held by another process is a failure (1), not bad configuration: the same command,
 * unchanged, works once that process stops.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, loadEnvFile, type Config } from '../config';
import { fieldErrors } from '../http/validate';
import { MIN_PASSWORD_LENGTH } from '../limits';
import { processLogger, type Logger } from '../logger';
import { settingsPatch, type SettingsPatch } from '../orgs/settings';
import { exitCodeOf, PROCESS_ERRORS } from '../process-errors';
import { packageVersion } from '../version';
import { askNewPassword } from './prompt';
import { asUsageError, command, section, UsageError, wrap, type Command } from './usage';

/** What a command does, once its arguments are checked: an exit code, or undefined to keep running (`serve`). */
type Work = (config: Config, logger: Logger) => Promise<number | undefined>;

/** The code that runs commands, loaded only to run one. */
const commands = () => import('./commands.js');

const SETTINGS = Object.keys(settingsPatch.shape);

const COMMANDS: Readonly<Record<string, Command<Work>>> = {
  serve: command('serve', {
    summary: 'start the server (what npm start runs)',
    forms: [''],
    description:
      'It listens on HOST:PORT, runs the embedded database under LATCHKEY_DATA_DIR unless DATABASE_URL is set, ' +
      'applies pending migrations, and stops gracefully on SIGTERM or SIGINT.',
    options: {},
    plan: () => async (config, logger) => (await commands()).serve(config, logger),
  }),

  migrate: command('migrate', {
    summary: 'apply pending database migrations, then exit',
    forms: [''],
    options: {},
    plan: () => async (config, logger) => (await commands()).migrate(config, logger),
  }),

  'create-admin': command('create-admin', {
    summary: 'create an organization and a user who owns it',
    forms: ['--email EMAIL [--password PASSWORD] [--org TITLE]'],
    description:
      'Without --password it asks for one on the terminal (twice, not echoed). Prints the new user and ' +
      'organization as JSON. With the embedded database, run it while the server is stopped (the server holds ' +
      'the data dir); a running server offers its sign-in page instead (see setup-code).',
    options: {
      email: { type: 'string', value: 'EMAIL', description: "the owner's email address, which they sign in with" },
      password: {
        type: 'string',
        value: 'PASSWORD',
        description: `their password, at least ${MIN_PASSWORD_LENGTH} characters (default: asked for)`,
      },
      org: { type: 'string', value: 'TITLE', description: "the organization's title (default: LATCHKEY_ADMIN_ORG)" },
    },
    plan: ({ values: { email, password, org } }) => {
      if (!email) throw new UsageError('missing --email');
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email is not an email address');
      if (password !== undefined && password.length < MIN_PASSWORD_LENGTH)
        throw new UsageError(`--password must be at least ${MIN_PASSWORD_LENGTH} characters`);
      if (password === undefined && !process.stdin.isTTY)
        throw new UsageError('give --password, or run it on a terminal to be asked for one');
      return async (config, logger) =>
        (await commands()).createAdmin(config, logger, {
          email,
          password: password ?? (await askNewPassword()),
          organization: org ?? config.firstOrganization,
        });
    },
  }),

  'setup-code': command('setup-code', {
    summary: 'print the code that creates the first owner from the sign-in page',
    forms: [''],
    description:
      'The code the server logs at start-up while no user exists (in the link to /login). It is derived from ' +
      "LATCHKEY_SECRET_KEY (or the embedded data dir's secret.key, which the first start generates), so it reads " +
      'no database and may run beside a server. It opens nothing once a user exists.',
    options: {},
    plan: () => async (config, logger) => (await commands()).printSetupCode(config, logger),
  }),

  keys: command('keys', {
    summary: 'rotate or list the signing keys',
    forms: ['rotate', 'list'],
    arguments: {
      rotate: 'make a new signing key; running servers sign with it at once, the old ones keep verifying',
      list: 'list the signing keys, one JSON object a line (kid, alg, state, created_at, retired_at)',
    },
    options: {},
    plan: ({ positionals: [action, ...rest] }) => {
      if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
      if (action === 'rotate') return async (config, logger) => (await commands()).rotateKey(config, logger);
      if (action === 'list') return async (config, logger) => (await commands()).listKeys(config, logger);
      throw new UsageError(action ? `unknown action "${action}"` : 'rotate or list?');
    },
  }),

  settings: command('settings', {
    summary: "read or change an organization's token settings",
    forms: ['get --org ID', 'set --org ID key=value ...'],
    description: 'Prints the settings as JSON; a change is recorded in the audit trail.',
    arguments: {
      get: 'print them',
      set: 'change the ones given, then print them',
      'key=value': `a setting and its new value; the settings are ${SETTINGS.join(', ')}`,
    },
    options: { org: { type: 'string', value: 'ID', description: "the organization's id" } },
    plan: ({ values, positionals: [action, ...pairs] }) => {
      if (action !== 'get' && action !== 'set')
        throw new UsageError(action ? `unknown action "${action}"` : 'get or set?');
      if (!values.org || !/^\d+$/.test(values.org)) throw new UsageError('--org ID is required');
      const organizationId = Number(values.org);
      let patch: SettingsPatch | undefined;
      if (action === 'get' && pairs.length) throw new UsageError(`get: unexpected argument "${pairs[0]}"`);
      if (action === 'set') patch = parsePatch(pairs);
      return async (config, logger) => (await commands()).settings(config, logger, organizationId, patch);
    },
  }),
};

/** `key=value ...` as a settings patch, checked by the same schema as the HTTP API's. */
function parsePatch(pairs: readonly string[]): SettingsPatch {
  if (!pairs.length) throw new UsageError('set: give at least one key=value');
  const raw: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`set: "${pair}" is not key=value`);
    raw[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const parsed = settingsPatch.safeParse(raw);
  if (!parsed.success)
    throw new UsageError(
      `set: ${Object.entries(fieldErrors(parsed.error))
        .map(([key, messages]) => `${key}: ${messages.join(' ')}`)
        .join('; ')}`,
    );
  return parsed.data;
}

/** `latchkey --help`: every command, the global options, where settings come from. */
function overview(): string {
  return [
    'usage: latchkey <command> [options]\n       latchkey <command> --help',
    section(
      'Commands',
      Object.entries(COMMANDS).map(([name, { summary }]): [string, string] => [name, summary]),
    ),
    section('Options', [
      ['-h, --help', "show this help (after a command: that command's)"],
      ['--version', 'print the version'],
    ]),
    wrap(
      'Settings are environment variables (see .env.example), also read from a .env file in the working ' +
        'directory; a variable set in the environment wins over the file.',
    ).join('\n'),
    'Exit codes: 0 ok, 1 failure, 64 bad usage, 78 bad configuration.',
  ].join('\n\n');
}

/** The command called `name`, if there is one (not an Object.prototype key). */
const commandNamed = (name: string): Command<Work> | undefined =>
  Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;

type Invocation =
  /** Help or the version: printed on stdout, exit 0. */
  | { readonly kind: 'print'; readonly text: string }
  /** A wrong command line: the problem and the usage on stderr, exit 64. */
  | { readonly kind: 'refuse'; readonly problem: string; readonly usage: string }
  | { readonly kind: 'run'; readonly command: string; readonly work: Work };

/** What `argv` asks for. Reads nothing, touches nothing. */
function invocation(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'refuse', problem: 'give a command', usage: overview() };
  if (first === 'help' || first.startsWith('-')) {
    let values: { help?: boolean; version?: boolean };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: first === 'help' ? ['--help', ...rest] : [...argv],
        options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      }));
    } catch (err) {
      const usage = asUsageError(err);
      if (usage instanceof UsageError) return { kind: 'refuse', problem: usage.message, usage: overview() };
      throw err;
    }
    if (values.version) return { kind: 'print', text: packageVersion() };
    const [about, ...more] = positionals;
    if (!values.help || more.length) return { kind: 'refuse', problem: 'give one command', usage: overview() };
    if (about === undefined) return { kind: 'print', text: overview() };
    const described = commandNamed(about);
    if (!described) return { kind: 'refuse', problem: `unknown command "${about}"`, usage: overview() };
    return { kind: 'print', text: described.help() };
  }
  const found = commandNamed(first);
  if (!found) return { kind: 'refuse', problem: `unknown command "${first}"`, usage: overview() };
  try {
    const parsed = found.parse(rest);
    return parsed.help ? { kind: 'print', text: found.help() } : { kind: 'run', command: first, work: parsed.work };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return {
      kind: 'refuse',
      problem: `${first}: ${err.message}`,
      usage: `${found.usage()}\n(latchkey ${first} --help for more)`,
    };
  }
}

/** Runs one command line; resolves to an exit code (undefined: keep running, as `serve` does). */
export async function run(argv: readonly string[]): Promise<number | undefined> {
  const asked = invocation(argv);
  if (asked.kind === 'print') {
    process.stdout.write(`${asked.text}\n`);
    return 0;
  }
  if (asked.kind === 'refuse') {
    process.stderr.write(`latchkey: ${asked.problem}\n\n${asked.usage}\n`);
    return PROCESS_ERRORS.bad_usage.exitCode;
  }
  let config: Config;
  try {
    loadEnvFile();
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`latchkey: invalid configuration: ${err.message}\n`);
    return err.exitCode;
  }
  // One-shot commands log to stderr so their stdout stays machine-readable.
  const logger = processLogger(config.logLevel, config.logFormat, asked.command === 'serve' ? 'stdout' : 'stderr');
  try {
    return await asked.work(config, logger);
  } catch (err) {
    const invalid = err instanceof ConfigError ? 'invalid configuration: ' : '';
    process.stderr.write(`latchkey: ${invalid}${(err as Error).message}\n`);
    return exitCodeOf(err);
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exit(code);
  });
}
