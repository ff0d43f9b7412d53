/**
 * Latchkey's configuration: the environment variables declared in `src/environment.ts`,
 * parsed once at start-up into a frozen {@link Config}. A bad value stops the process with
 * one line naming the variable (see {@link ConfigError}). They may also be written in a
 * `.env` file in the working directory ({@link loadEnvFile}); the environment wins.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fieldErrors } from './http/validate';
import { environment, type Environment } from './environment';
import { SETTINGS_DEFAULTS, settingsPatch, type TokenSettings } from './orgs/settings';
import { ProcessError } from './process-errors';

export class ConfigError extends ProcessError {
  readonly code = 'invalid_config';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * The configuration the process runs with, derived from the parsed environment: names that
 * say what a value is for, units converted, and the values that depend on several variables.
 */
function configFrom(e: Environment) {
  const issuer = (e.LATCHKEY_ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    /** Undefined: pretty when the log goes to a terminal, JSON otherwise (see logger.ts). */
    logFormat: e.LOG_FORMAT,
    issuer,
    dataDir: path.resolve(e.LATCHKEY_DATA_DIR),
    /** LATCHKEY_DATA_DIR as written, for messages to the person who wrote it. */
    dataDirAsGiven: e.LATCHKEY_DATA_DIR,
    /** Absent means: run the embedded PGlite database under dataDir. */
    databaseUrl: e.DATABASE_URL,
    /** Absent only with the embedded database, which keeps a generated one in dataDir. */
    secretKey: e.LATCHKEY_SECRET_KEY,
    /** Title of the first organization, when whoever creates it names none. */
    firstOrganization: e.LATCHKEY_ADMIN_ORG,
    admin:
      e.LATCHKEY_ADMIN_EMAIL && e.LATCHKEY_ADMIN_PASSWORD
        ? Object.freeze({
            email: e.LATCHKEY_ADMIN_EMAIL.toLowerCase(),
            password: e.LATCHKEY_ADMIN_PASSWORD,
            organization: e.LATCHKEY_ADMIN_ORG,
          })
        : undefined,
    db: Object.freeze({
      poolSize: e.LATCHKEY_DB_POOL_SIZE,
      connectTimeoutSeconds: e.LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS,
      /** A statement with no reply this long fails (503) and its connection is dropped: what heals a partition. */
      queryTimeoutSeconds: e.LATCHKEY_DB_QUERY_TIMEOUT_SECONDS,
      embeddedPort: e.LATCHKEY_EMBEDDED_PG_PORT,
      embeddedSharedBuffersMb: e.LATCHKEY_EMBEDDED_SHARED_BUFFERS_MB,
    }),
    shutdownGraceSeconds: e.LATCHKEY_SHUTDOWN_GRACE_SECONDS,
    bcryptRounds: e.LATCHKEY_BCRYPT_ROUNDS,
    jwt: Object.freeze({
      /** Algorithm of newly generated signing keys; each key keeps the one it was made with. */
      alg: e.LATCHKEY_JWT_ALG,
      /** `aud` of access tokens (the issuer: Latchkey's own API is their audience). */
      audience: issuer,
      /** Clock skew tolerated on `exp`, both for PATs and access tokens. */
      leewaySeconds: e.LATCHKEY_JWT_LEEWAY_SECONDS,
    }),
    /** Live PATs one user may hold in one organization. */
    patLimit: e.LATCHKEY_PAT_LIMIT,
    sessionTtlSeconds: e.LATCHKEY_SESSION_TTL_HOURS * 3600,
    trustProxy: e.LATCHKEY_TRUST_PROXY,
    /** Token settings of a new organization: the contract's defaults, overridden by LATCHKEY_DEFAULT_ORG_SETTINGS. */
    defaultOrgSettings: parseDefaultOrgSettings(e.LATCHKEY_DEFAULT_ORG_SETTINGS),
    /** Entries in each of authentication's caches: what bounds an instance's memory, whatever the size of the database. */
    authCacheSize: e.LATCHKEY_AUTH_CACHE_SIZE,
    /** PATs one user may create or rotate per minute (per instance): bounds row churn. */
    patCreatePerMinute: e.LATCHKEY_PAT_CREATE_PER_MINUTE,
    /** Revocation streams one instance serves at once (503 beyond). */
    eventStreamsMax: e.LATCHKEY_EVENT_STREAMS_MAX,
    /** The Prometheus exporter's own listener; undefined when LATCHKEY_METRICS_PORT is 0 (off). */
    metrics:
      e.LATCHKEY_METRICS_PORT === 0
        ? undefined
        : Object.freeze({ port: e.LATCHKEY_METRICS_PORT, host: e.LATCHKEY_METRICS_HOST }),
  });
}

export type Config = ReturnType<typeof configFrom>;
export type JwtAlgorithm = Config['jwt']['alg'];

/** LATCHKEY_DEFAULT_ORG_SETTINGS: a JSON object with any of the settings' keys. */
function parseDefaultOrgSettings(raw: string | undefined): TokenSettings {
  if (raw === undefined) return SETTINGS_DEFAULTS;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('LATCHKEY_DEFAULT_ORG_SETTINGS', 'is not valid JSON');
  }
  const parsed = settingsPatch.safeParse(json);
  if (!parsed.success) {
    const problems = Object.entries(fieldErrors(parsed.error)).map(
      ([field, messages]) => `${field}: ${messages.join(' ')}`,
    );
    throw new ConfigError('LATCHKEY_DEFAULT_ORG_SETTINGS', problems.join('; '));
  }
  return Object.freeze({
    ...SETTINGS_DEFAULTS,
    ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)),
  });
}

/** Parses `env` (process.env by default); throws {@link ConfigError} on the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environment.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const problem =
      issue.code === 'invalid_value' || issue.code === 'invalid_type'
        ? `${issue.message} (got ${JSON.stringify(present[variable] ?? null)})`
        : issue.message;
    throw new ConfigError(
      variable,
      variable.includes('SECRET') || variable.includes('PASSWORD') ? issue.message : problem,
    );
  }
  return configFrom(parsed.data);
}

/** The file of variables that `npm start` and the `latchkey` command read from their working directory. */
export const ENV_FILE = '.env';

/** `NAME=value` (or `export NAME=value`): NAME as a shell variable's; the value after `=`. */
const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=(.*)$/;

/**
 * The number of the first line of `text` that is none of: blank, a `#` comment, `NAME=value`
 * (a quoted value may span lines, as in Node's parser). Node's parser skips such a line in
 * silence, so a `PORT 8080` would go unnoticed.
 */
export function malformedEnvLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const assignment = ASSIGNMENT.exec(line);
    if (!assignment) return i + 1;
    const value = assignment[1]!.trimStart();
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== '`') continue;
    if (value.indexOf(quote, 1) > 0) continue;
    // Open at the end of its line: the value runs to the line that closes it, if any (else Node
    // takes the rest of this line as it is).
    const closing = lines.findIndex((later, j) => j > i && later.includes(quote));
    if (closing > 0) i = closing;
  }
  return undefined;
}

/**
 * Adds the variables of the `.env` file in the working directory, if there is one, to the
 * process's environment, with Node's own parser (`process.loadEnvFile`), which leaves a
 * variable that is already set as it is: the environment wins over the file. Call it before
 * {@link loadConfig}. A file that cannot be read, or a line that is not `NAME=value`, is a
 * {@link ConfigError} naming the file and the line number (never the line: it may hold a secret).
 */
export function loadEnvFile(file: string = ENV_FILE): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    if (code === 'ENOENT') return;
    throw new ConfigError(file, `cannot be read (${code ?? (err as Error).message})`);
  }
  const malformed = malformedEnvLine(text);
  if (malformed !== undefined) throw new ConfigError(file, `line ${malformed} is not NAME=value, a # comment or blank`);
  process.loadEnvFile(file);
}
