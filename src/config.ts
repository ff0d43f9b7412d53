/**
 * Latchkey's configuration: every environment variable the server reads, parsed once at
 * start-up into a frozen {@link Config}. A bad value stops the process with one line naming
 * the variable (see {@link ConfigError}). `.env.example` documents the same variables.
 */
import path from 'node:path';
import { z } from 'zod';
import { fieldErrors } from './http/validate';
import { MAX_LEEWAY_SECONDS } from './limits';
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const JWT_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Express's `trust proxy`: "false", "true", a hop count, or names/CIDRs ("loopback, 10.0.0.0/8"). */
const trustProxy = z.string().transform((value): boolean | number | string => {
  if (value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
});

const postgresUrl = z.string().refine((value) => {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be a postgresql:// URL');

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce.number().int().min(1).max(3600);

/** The variables and their documented defaults. Empty strings count as unset. */
const schema = z
  .object({
    PORT: port.default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: postgresUrl.optional(),
    LATCHKEY_DATA_DIR: z.string().min(1).default('./.latchkey'),
    LATCHKEY_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    LATCHKEY_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    LATCHKEY_ADMIN_EMAIL: z.email().optional(),
    LATCHKEY_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    LATCHKEY_ADMIN_ORG: z.string().min(1).max(200).default('Default organization'),
    LATCHKEY_DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
    LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS: seconds.default(30),
    LATCHKEY_DB_QUERY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(15),
    LATCHKEY_EMBEDDED_PG_PORT: port.default(0),
    LATCHKEY_SHUTDOWN_GRACE_SECONDS: seconds.default(10),
    LATCHKEY_BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(12),
    LATCHKEY_JWT_ALG: z.enum(JWT_ALGORITHMS).default('ES256'),
    LATCHKEY_JWT_LEEWAY_SECONDS: z.coerce.number().int().min(0).max(MAX_LEEWAY_SECONDS).default(30),
    LATCHKEY_PAT_LIMIT: z.coerce.number().int().min(1).max(10_000).default(50),
    LATCHKEY_SESSION_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24 * 14),
    LATCHKEY_TRUST_PROXY: trustProxy.default(false),
    LATCHKEY_DEFAULT_ORG_SETTINGS: z.string().optional(),
    LATCHKEY_METRICS: z.enum(['true', 'false']).default('false'),
    LATCHKEY_AUTH_CACHE_SIZE: z.coerce.number().int().min(100).max(10_000_000).default(20_000),
    LATCHKEY_PAT_CREATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL && !env.LATCHKEY_SECRET_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['LATCHKEY_SECRET_KEY'],
        message: 'is required when DATABASE_URL is set (only the embedded database generates one)',
      });
    }
    if (!env.LATCHKEY_ADMIN_EMAIL !== !env.LATCHKEY_ADMIN_PASSWORD) {
      const missing = env.LATCHKEY_ADMIN_EMAIL ? 'LATCHKEY_ADMIN_PASSWORD' : 'LATCHKEY_ADMIN_EMAIL';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'LATCHKEY_ADMIN_EMAIL and LATCHKEY_ADMIN_PASSWORD go together',
      });
    }
  });

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly issuer: string;
  readonly dataDir: string;
  /** LATCHKEY_DATA_DIR as written, for messages to the person who wrote it. */
  readonly dataDirAsGiven: string;
  /** Absent means: run the embedded PGlite database under dataDir. */
  readonly databaseUrl: string | undefined;
  /** Absent only with the embedded database, which keeps a generated one in dataDir. */
  readonly secretKey: string | undefined;
  readonly admin: { readonly email: string; readonly password: string; readonly organization: string } | undefined;
  readonly db: {
    readonly poolSize: number;
    readonly connectTimeoutSeconds: number;
    /** A statement with no reply this long fails (503) and its connection is dropped: what heals a partition. */
    readonly queryTimeoutSeconds: number;
    readonly embeddedPort: number;
  };
  readonly shutdownGraceSeconds: number;
  readonly bcryptRounds: number;
  readonly jwt: {
    /** Algorithm of newly generated signing keys; each key keeps the one it was made with. */
    readonly alg: JwtAlgorithm;
    /** `aud` of access tokens (the issuer: Latchkey's own API is their audience). */
    readonly audience: string;
    /** Clock skew tolerated on `exp`, both for PATs and access tokens. */
    readonly leewaySeconds: number;
  };
  /** Live PATs one user may hold in one organization. */
  readonly patLimit: number;
  readonly sessionTtlSeconds: number;
  readonly trustProxy: boolean | number | string;
  /**
   * Entries in each of authentication's caches (PATs, sessions, legacy tokens, users,
   * memberships, organizations, verified signatures): what bounds an instance's memory,
   * whatever the size of the database. About 1 KB per entry at most.
   */
  readonly authCacheSize: number;
  /** PATs one user may create or rotate per minute (per instance): bounds row churn. */
  readonly patCreatePerMinute: number;
  /** Serve `GET /metrics` (Prometheus text). Off by default: it is unauthenticated. */
  readonly metrics: boolean;
  /** Token settings of a new organization: the contract's defaults, overridden by LATCHKEY_DEFAULT_ORG_SETTINGS. */
  readonly defaultOrgSettings: TokenSettings;
}

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
  const parsed = schema.safeParse(present);
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
  const e = parsed.data;
  const issuer = (e.LATCHKEY_ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    issuer,
    dataDir: path.resolve(e.LATCHKEY_DATA_DIR),
    dataDirAsGiven: e.LATCHKEY_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    secretKey: e.LATCHKEY_SECRET_KEY,
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
      queryTimeoutSeconds: e.LATCHKEY_DB_QUERY_TIMEOUT_SECONDS,
      embeddedPort: e.LATCHKEY_EMBEDDED_PG_PORT,
    }),
    shutdownGraceSeconds: e.LATCHKEY_SHUTDOWN_GRACE_SECONDS,
    bcryptRounds: e.LATCHKEY_BCRYPT_ROUNDS,
    jwt: Object.freeze({ alg: e.LATCHKEY_JWT_ALG, audience: issuer, leewaySeconds: e.LATCHKEY_JWT_LEEWAY_SECONDS }),
    patLimit: e.LATCHKEY_PAT_LIMIT,
    sessionTtlSeconds: e.LATCHKEY_SESSION_TTL_HOURS * 3600,
    trustProxy: e.LATCHKEY_TRUST_PROXY,
    defaultOrgSettings: parseDefaultOrgSettings(e.LATCHKEY_DEFAULT_ORG_SETTINGS),
    authCacheSize: e.LATCHKEY_AUTH_CACHE_SIZE,
    patCreatePerMinute: e.LATCHKEY_PAT_CREATE_PER_MINUTE,
    metrics: e.LATCHKEY_METRICS === 'true',
  });
}
