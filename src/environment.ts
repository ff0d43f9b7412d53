/**
 * Every environment variable Latchkey reads, each declared once: its parser with its default,
 * and its documentation, like node-oidc-provider's `lib/helpers/defaults.js`. `loadConfig`
 * (`src/config.ts`) parses the environment with these; `npm run settings:docs` writes
 * `.env.example` and README's table from them, and a test fails when either is stale. So a
 * variable added, renamed or given a new default here cannot disagree with its documentation.
 */
import { z } from 'zod';
import { MAX_LEEWAY_SECONDS, MIN_PASSWORD_LENGTH } from './limits';

export interface Variable {
  /** Parses the variable's text. A `.default()` on it is the documented default. */
  readonly parser: z.ZodType;
  /**
   * One paragraph for the person setting the variable: what it changes and when to change
   * it. The accepted values (range, choices) are added from `parser`, so they are not
   * repeated here.
   */
  readonly doc: string;
  /** For a variable with no default: what Latchkey does while it is unset. */
  readonly whenUnset?: string;
  /** For a variable with no default: a value to show, commented out, in `.env.example`. */
  readonly example?: string;
}

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

const SECRET_KEY_MIN_LENGTH = 32;

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce.number().int().min(1).max(3600);

/**
 * The variables, in the order they are checked (the first bad one is the one reported) and
 * documented. Empty strings count as unset.
 */
export const VARIABLES = {
  PORT: {
    parser: port.default(8080),
    doc: "HTTP port. 8080 is Label Studio's.",
  },
  HOST: {
    parser: z.string().min(1).default('0.0.0.0'),
    doc: 'Bind address of the HTTP server.',
  },
  DATABASE_URL: {
    parser: postgresUrl.optional(),
    doc: '`postgresql://` URL of an external Postgres 15+. Unset: the embedded database (PGlite) under `LATCHKEY_DATA_DIR`.',
    whenUnset: 'embedded database',
    example: 'postgresql://latchkey:password@127.0.0.1:5432/latchkey',
  },
  LATCHKEY_DATA_DIR: {
    parser: z.string().min(1).default('./.latchkey'),
    doc: 'Where the embedded database and its generated secret key live. One process at a time (the server, or one `latchkey` command) holds it, through `LATCHKEY_DATA_DIR/latchkey.lock`.',
  },
  LATCHKEY_SECRET_KEY: {
    parser: z.string().min(SECRET_KEY_MIN_LENGTH, `must be at least ${SECRET_KEY_MIN_LENGTH} characters`).optional(),
    doc: `Encrypts signing keys at rest; at least ${SECRET_KEY_MIN_LENGTH} characters (\`openssl rand -base64 32\`). Required with \`DATABASE_URL\`. With the embedded database it is generated once and kept in \`LATCHKEY_DATA_DIR/secret.key\` (mode 0600). Never commit a real value.`,
    whenUnset: 'generated (embedded database only)',
    example: '',
  },
  LATCHKEY_ISSUER: {
    parser: z.url({ protocol: /^https?$/ }).optional(),
    doc: "The `iss` of every token, and the `aud` of access tokens (Latchkey's own API is their audience). An `http` or `https` URL; a trailing slash is dropped. The default contains the port: set it when several instances serve one issuer.",
    whenUnset: '`http://localhost:$PORT`',
    example: 'https://auth.example.com',
  },
  LATCHKEY_ADMIN_EMAIL: {
    parser: z.email().optional(),
    doc: 'With `LATCHKEY_ADMIN_PASSWORD`: on a start that finds no users in the database, create the first organization and this user as its owner. The two go together.',
    whenUnset: 'no bootstrap',
    example: 'admin@example.com',
  },
  LATCHKEY_ADMIN_PASSWORD: {
    parser: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).optional(),
    doc: `The first owner's password, with \`LATCHKEY_ADMIN_EMAIL\`; at least ${MIN_PASSWORD_LENGTH} characters.`,
    whenUnset: 'no bootstrap',
    example: '',
  },
  LATCHKEY_ADMIN_ORG: {
    parser: z.string().min(1).max(200).default('My organization'),
    doc: "Title of the first organization: the one `LATCHKEY_ADMIN_EMAIL` and `LATCHKEY_ADMIN_PASSWORD` create, and the default of the first-run page's and `latchkey create-admin`'s.",
  },
  LATCHKEY_DB_POOL_SIZE: {
    parser: z.coerce.number().int().min(1).max(100).default(10),
    doc: 'Connections to an external database (the embedded one always uses 1).',
  },
  LATCHKEY_DB_CONNECT_TIMEOUT_SECONDS: {
    parser: seconds.default(30),
    doc: 'How long start-up keeps retrying (with backoff) an unreachable database before giving up.',
  },
  LATCHKEY_DB_QUERY_TIMEOUT_SECONDS: {
    parser: z.coerce.number().int().min(1).max(300).default(15),
    doc: 'A statement with no reply for this long fails with 503, and its connection is dropped and replaced: how an instance heals after a partition that left its connections dead.',
  },
  LATCHKEY_EMBEDDED_PG_PORT: {
    parser: port.default(0),
    doc: 'Loopback port the embedded database is served on; 0 picks a free one.',
  },
  LATCHKEY_EMBEDDED_SHARED_BUFFERS_MB: {
    parser: z.coerce.number().int().min(1).max(1024).default(16),
    doc: "The embedded database's page cache (Postgres `shared_buffers`), in MiB: most of the embedded mode's memory. PGlite's own default, 128, costs about 130 MB more and gains nothing at Latchkey's sizes.",
  },
  LATCHKEY_SHUTDOWN_GRACE_SECONDS: {
    parser: seconds.default(10),
    doc: 'On SIGTERM: stop accepting, and let in-flight requests finish for at most this long.',
  },
  LATCHKEY_BCRYPT_ROUNDS: {
    parser: z.coerce.number().int().min(4).max(15).default(12),
    doc: 'bcrypt cost for user passwords.',
  },
  LATCHKEY_JWT_ALG: {
    parser: z.enum(['ES256', 'EdDSA', 'RS256', 'HS256']).default('ES256'),
    doc: 'Algorithm of newly generated signing keys. Changing it makes a new signing key at the next start; old keys keep verifying. HS256 publishes no JWKS.',
  },
  LATCHKEY_JWT_LEEWAY_SECONDS: {
    parser: z.coerce.number().int().min(0).max(MAX_LEEWAY_SECONDS).default(30),
    doc: 'Clock skew tolerated on `exp` of PATs and access tokens.',
  },
  LATCHKEY_PAT_LIMIT: {
    parser: z.coerce.number().int().min(1).max(10_000).default(50),
    doc: 'Live PATs one user may hold in one organization.',
  },
  LATCHKEY_SESSION_TTL_HOURS: {
    parser: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24 * 14),
    doc: 'Lifetime of a login session (the browser cookie), in hours.',
  },
  LATCHKEY_TRUST_PROXY: {
    parser: trustProxy.default(false),
    doc: 'Express `trust proxy`: `false`, `true`, a hop count, or addresses (`loopback, 10.0.0.0/8`). Decides the client IP used by login limits (an IPv6 client counts by its /64) and the audit trail.',
  },
  LATCHKEY_DEFAULT_ORG_SETTINGS: {
    parser: z.string().optional(),
    doc: 'Token settings for organizations created from now on: JSON with any of the four settings, e.g. `{"legacy_api_tokens_enabled": true, "access_token_ttl_seconds": 600}`.',
    whenUnset: "the settings' own defaults",
    example: '',
  },
  LATCHKEY_METRICS_PORT: {
    parser: port.default(9464),
    doc: "Port of the Prometheus exporter, a server of its own that answers only `GET /metrics` (requests by route and status, authentication outcomes, caches, change feed, database round trips, process and Node.js metrics). 9464 is the OpenTelemetry Prometheus exporter's. `0` turns it off. It is unauthenticated: see `LATCHKEY_METRICS_HOST`.",
  },
  LATCHKEY_METRICS_HOST: {
    parser: z.string().min(1).default('127.0.0.1'),
    doc: 'Bind address of the Prometheus exporter. Loopback by default, so only a scraper on the same host (or in the same pod) reaches it; set `0.0.0.0` to let Prometheus scrape it over the network, on a network you trust.',
  },
  LATCHKEY_AUTH_CACHE_SIZE: {
    parser: z.coerce.number().int().min(100).max(10_000_000).default(20_000),
    doc: "Entries in each of authentication's caches (PATs, sessions, legacy tokens, users, memberships, organizations, verified signatures); at most about 1 KB each. This, not the size of the database, bounds an instance's memory.",
  },
  LATCHKEY_PAT_CREATE_PER_MINUTE: {
    parser: z.coerce.number().int().min(1).max(100_000).default(30),
    doc: 'PATs one user may create or rotate per minute on one instance (429 beyond): bounds row churn.',
  },
  LATCHKEY_EVENT_STREAMS_MAX: {
    parser: z.coerce.number().int().min(1).max(100_000).default(1_000),
    doc: 'Revocation streams (`GET /api/token/events`) one instance keeps open at once; beyond, 503 with `Retry-After`. Each open stream holds a connection and a few KB, never a buffer of events.',
  },
  LOG_LEVEL: {
    parser: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    doc: 'pino log level.',
  },
  LOG_FORMAT: {
    parser: z.enum(['pretty', 'json']).optional(),
    doc: 'How log lines are written: `pretty`, one readable line each (pino-pretty), or `json`, one JSON object each, for a log collector.',
    whenUnset: 'pretty on a terminal, JSON otherwise',
    example: 'json',
  },
} satisfies Record<string, Variable>;

type Parsers = { readonly [Name in keyof typeof VARIABLES]: (typeof VARIABLES)[Name]['parser'] };
const parsers = Object.fromEntries(
  Object.entries(VARIABLES).map(([name, variable]) => [name, variable.parser]),
) as Parsers;

/** The whole environment: each variable's parser, then the rules that join two of them. */
export const environment = z.object(parsers).superRefine((env, ctx) => {
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

export type Environment = z.infer<typeof environment>;
