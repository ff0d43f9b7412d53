/**
 * `@latchkey/express`: an Express middleware for services that receive Latchkey access tokens.
 *
 * It verifies them locally (jose: JWKS, issuer, audience, `typ: at+jwt`), so a request costs no
 * round trip, and it still refuses at once what Latchkey refuses: it keeps one Server-Sent
 * Events connection to Latchkey's revocation stream (`GET {issuer}/api/token/events`) and
 * applies what it hears (revoked PATs, deactivated users, removed or demoted members, ended
 * sessions, policy changes, key rotations) to bounded sets it checks every token against. It
 * resumes the stream with `Last-Event-ID`; a `reset` makes it drop what it holds. Whenever its
 * view cannot be trusted (before the stream's first `ready`, after a `reset` until the next
 * one, or once the stream has been down longer than `staleAfterMs`), it asks Latchkey instead
 * (RFC 7662 introspection, per request).
 *
 * One instance serves one organization: the one of the service's own token (see
 * {@link LatchkeyOptions.introspection}); a token of another organization is refused, as
 * Latchkey's introspection refuses it.
 *
 * Web APIs only (fetch, streams, AbortController, timers), besides Express's types.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { readEventStream, type ServerSentEvent } from './sse';

export { readEventStream, type EventStreamHandlers, type ServerSentEvent } from './sse';

/** Label Studio Enterprise's roles, highest first (Latchkey's). */
export type Role = 'owner' | 'administrator' | 'manager' | 'reviewer' | 'annotator';
const RANK: Readonly<Record<Role, number>> = { owner: 5, administrator: 4, manager: 3, reviewer: 2, annotator: 1 };
const isRole = (value: unknown): value is Role => typeof value === 'string' && Object.hasOwn(RANK, value);
const lower = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);

/** What the middleware sets on `req.latchkey`. */
export interface LatchkeyAuth {
  readonly sub: string;
  readonly userId: number;
  readonly organizationId: number;
  /** What the token may do now: its own role, capped by a demotion the stream announced. */
  readonly role: Role;
  readonly claims: JWTPayload;
  /** How the token was judged: locally against the stream's view, or by Latchkey's introspection. */
  readonly via: 'stream' | 'introspection';
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by the Latchkey middleware once the access token is accepted. */
      latchkey?: LatchkeyAuth;
    }
  }
}

/** One event of the stream, as applied. */
export interface LatchkeyStreamEvent {
  readonly type: string;
  readonly id: string;
  readonly data: Record<string, unknown>;
}

/**
 * `connecting`: no view yet (or a reset) and no stream; `ready`: the stream is current;
 * `down`: the stream was lost, the view is kept for `staleAfterMs`.
 */
export type LatchkeyStreamStatus = 'connecting' | 'ready' | 'down';

export interface LatchkeyOptions {
  /** Latchkey's URL, as its tokens' `iss` names it (LATCHKEY_ISSUER). */
  readonly issuer: string;
  /** The `aud` access tokens must carry; Latchkey's is its issuer (the default). */
  readonly audience?: string;
  /** The fetch to use (default the global one): for proxies, instrumentation, tests. */
  readonly fetch?: typeof fetch;
  /**
   * How long a lost stream may stay down before the middleware stops trusting what it holds
   * and introspects every request instead. Default 5000 ms.
   */
  readonly staleAfterMs?: number;
  /**
   * The service's own credential, for the event stream and for introspection: an access token
   * of an owner or administrator of the organization (typically refreshed from the service's
   * PAT). Called for every connection and introspection, so it may refresh ahead of expiry.
   */
  readonly introspection: { readonly token: () => Promise<string> };
  /** Clock skew tolerated on `exp` (and `iat`), in seconds. Default 30 (Latchkey's default leeway). */
  readonly clockToleranceSeconds?: number;
  /**
   * Entries each set holds at most (revoked PATs, ended sessions, users, memberships); past it,
   * the oldest goes, and the middleware introspects until what it evicted could no longer
   * matter. Default 100 000.
   */
  readonly maxEntries?: number;
  /**
   * How long an event matters: every access token issued before it has expired by then.
   * Default 3 900 000 ms (Latchkey's longest access-token lifetime plus its largest leeway).
   */
  readonly retainMs?: number;
  /** Silence on the stream (it sends a heartbeat every 15 s) after which it counts as lost. Default 45 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Each event, once applied. */
  readonly onEvent?: (event: LatchkeyStreamEvent) => void;
  /** Each change of the stream's status. */
  readonly onStatus?: (status: LatchkeyStreamStatus) => void;
  /** Milliseconds since the epoch, for `exp` and the sets' expiry. Default Date.now. */
  readonly clock?: () => number;
}

export interface LatchkeyMiddleware extends RequestHandler {
  /** The stream's status now. */
  readonly status: LatchkeyStreamStatus;
  /** The last event ID received (what a reconnection resumes from). */
  readonly lastEventId: string;
  /** Stops the stream (the middleware then introspects every request, once stale). */
  close(): void;
}

const DEFAULTS = {
  staleAfterMs: 5_000,
  clockToleranceSeconds: 30,
  maxEntries: 100_000,
  retainMs: 3_900_000,
  idleTimeoutMs: 45_000,
} as const;

/** Reconnection: the server's `retry:` (2 s) at first, doubling to this. */
const MAX_RECONNECT_MS = 30_000;

/**
 * A map whose entries expire `ttl` after they were last set, holding at most `max`: insertion
 * order is expiry order, so the oldest is always first. Evicting a live entry is reported,
 * because forgetting a revocation early must not go unnoticed.
 */
class ExpiringMap<K, V> {
  readonly #entries = new Map<K, { value: V; until: number }>();
  constructor(
    private readonly max: number,
    private readonly ttl: number,
    private readonly onEvict: (until: number) => void,
  ) {}

  set(key: K, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until: now + this.ttl });
    this.prune(now);
    for (const [oldest, { until }] of this.#entries) {
      if (this.#entries.size <= this.max) break;
      this.#entries.delete(oldest);
      this.onEvict(until);
    }
  }

  get(key: K, now: number): V | undefined {
    const entry = this.#entries.get(key);
    return entry && entry.until > now ? entry.value : undefined;
  }

  prune(now: number): void {
    for (const [key, { until }] of this.#entries) {
      if (until > now) break;
      this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** What the stream said, as sets to check a token against. */
class View {
  readonly pats: ExpiringMap<string, true>;
  readonly sessions: ExpiringMap<string, true>;
  /** A user's `active` as announced. */
  readonly users: ExpiringMap<number, boolean>;
  /** A user's membership role as announced; null: not a member. */
  readonly memberships: ExpiringMap<number, Role | null>;
  readonly retiredKids: ExpiringMap<string, true>;
  /** Keys announced as signing: a token they signed is worth fetching the JWKS again for. */
  readonly newKids: ExpiringMap<string, true>;
  apiTokensEnabled = true;
  /** Until then (clock ms), an evicted entry could still matter: trust nothing. */
  distrustUntil = 0;

  constructor(max: number, ttl: number) {
    const evicted = (until: number) => (this.distrustUntil = Math.max(this.distrustUntil, until));
    this.pats = new ExpiringMap(max, ttl, evicted);
    this.sessions = new ExpiringMap(max, ttl, evicted);
    this.users = new ExpiringMap(max, ttl, evicted);
    this.memberships = new ExpiringMap(max, ttl, evicted);
    this.retiredKids = new ExpiringMap(max, ttl, evicted);
    this.newKids = new ExpiringMap(max, ttl, () => undefined);
  }

  clear(): void {
    for (const map of [this.pats, this.sessions, this.users, this.memberships, this.retiredKids]) map.clear();
    this.apiTokensEnabled = true;
  }
}

/** A refusal: 401 with an RFC 6750 challenge, or 503 when Latchkey cannot be asked. */
class Refusal extends Error {
  constructor(
    readonly status: 401 | 503,
    readonly error: 'invalid_token' | 'invalid_request' | 'temporarily_unavailable' | undefined,
    description: string,
  ) {
    super(description);
  }
}

const invalid = (description: string) => new Refusal(401, 'invalid_token', description);

/** jose's verdicts on the token itself (anything else, such as a JWKS that cannot be fetched, is not the token's fault). */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const monotonic = () => performance.now();

/**
 * The middleware, with its stream started. Call `close()` when the service stops.
 *
 * ```ts
 * const auth = latchkey({ issuer: 'https://latchkey.example.com', introspection: { token: serviceToken } });
 * app.use('/api', auth, (req, res) => res.json({ user: req.latchkey!.userId }));
 * ```
 */
export function latchkey(options: LatchkeyOptions): LatchkeyMiddleware {
  const issuer = options.issuer.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(issuer)) throw new TypeError('latchkey: `issuer` must be an http(s) URL');
  if (typeof options.introspection?.token !== 'function')
    throw new TypeError('latchkey: `introspection.token` must be a function returning the service’s access token');
  const audience = options.audience ?? issuer;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), { [customFetch]: doFetch });
  const view = new View(options.maxEntries ?? DEFAULTS.maxEntries, options.retainMs ?? DEFAULTS.retainMs);

  let status: LatchkeyStreamStatus = 'connecting';
  /** True from a `ready` until a `reset`: the view holds everything that can still matter. */
  let synced = false;
  /** When (monotonic ms) the stream was lost; undefined while it is up. */
  let downSince: number | undefined;
  let lastEventId = '';
  /** The organization the stream is about: the service token's. */
  let organizationId: number | undefined;
  const stopper = new AbortController();

  const setStatus = (next: LatchkeyStreamStatus) => {
    if (next === status) return;
    status = next;
    options.onStatus?.(next);
  };

  /** Whether a request may be judged by the view, or must be introspected. */
  const trusted = () =>
    synced &&
    view.distrustUntil <= clock() &&
    (downSince === undefined || monotonic() - downSince <= staleAfterMs) &&
    !stopper.signal.aborted;

  function apply(event: ServerSentEvent): void {
    let data: Record<string, unknown> = {};
    try {
      data = event.data ? (JSON.parse(event.data) as Record<string, unknown>) : {};
    } catch {
      // A malformed event carries nothing to apply; the stream goes on.
    }
    const now = clock();
    switch (event.type) {
      case 'reset':
        view.clear();
        synced = false;
        setStatus('connecting');
        break;
      case 'ready':
        synced = true;
        downSince = undefined;
        setStatus('ready');
        break;
      case 'pat_revoked':
        for (const jti of Array.isArray(data.jtis) ? data.jtis : []) view.pats.set(String(jti), true, now);
        break;
      case 'session_ended':
        view.sessions.set(String(data.sid), true, now);
        break;
      case 'user_deactivated':
        view.users.set(Number(data.user_id), false, now);
        break;
      case 'user_activated':
        view.users.set(Number(data.user_id), true, now);
        break;
      case 'membership_changed':
        view.memberships.set(Number(data.user_id), isRole(data.role) ? data.role : null, now);
        break;
      case 'policy_changed':
        view.apiTokensEnabled = data.api_tokens_enabled !== false;
        break;
      case 'key_retired':
        view.retiredKids.set(String(data.kid), true, now);
        void jwks.reload().catch(() => undefined);
        break;
      case 'key_rotated':
        view.newKids.set(String(data.kid), true, now);
        void fetchKey(String(data.kid));
        break;
      default:
      // An event type this version does not know: nothing to apply.
    }
    options.onEvent?.({ type: event.type, id: event.lastEventId, data });
  }

  async function connect(): Promise<boolean> {
    const aborter = new AbortController();
    const stop = () => aborter.abort();
    stopper.signal.addEventListener('abort', stop, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(stop, idleTimeoutMs);
    };
    let wasReady = false;
    try {
      const token = await options.introspection.token();
      const org = decodeJwt(token).org_id;
      organizationId = typeof org === 'number' ? org : undefined;
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      alive();
      const res = await doFetch(`${issuer}/api/token/events`, { headers, signal: aborter.signal });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        return false;
      }
      await readEventStream(
        res.body,
        {
          onEvent(event) {
            if (event.lastEventId) lastEventId = event.lastEventId;
            if (event.type === 'ready') wasReady = true;
            apply(event);
          },
          onActivity: alive,
          onLastEventId: (id) => (lastEventId = id),
        },
        lastEventId,
      );
      return wasReady;
    } catch {
      return wasReady;
    } finally {
      clearTimeout(idle);
      stopper.signal.removeEventListener('abort', stop);
      downSince ??= monotonic();
      if (status === 'ready') setStatus('down');
    }
  }

  void (async () => {
    for (let failures = 0; !stopper.signal.aborted;) {
      // A stream that got current and then ended (its credential expired, the server stopped)
      // reconnects at once; failures back off.
      failures = (await connect()) ? 0 : failures + 1;
      if (failures) await sleep(Math.min(2_000 * 2 ** (failures - 1), MAX_RECONNECT_MS), stopper.signal);
    }
  })();

  /**
   * Fetches the JWKS until it shows `kid` (a few tries over about 6 s): the announcement of a
   * new key can reach us before the instance we fetch from has loaded it. One attempt per kid
   * at a time; tokens it signed wait for it.
   */
  const fetching = new Map<string, Promise<void>>();
  function fetchKey(kid: string): Promise<void> {
    const attempt = async () => {
      for (let delay = 100; !stopper.signal.aborted; delay *= 2) {
        await jwks.reload().catch(() => undefined);
        if (jwks.jwks()?.keys.some((key) => key.kid === kid) || delay > 3_200) return;
        await sleep(delay, stopper.signal);
      }
    };
    let pending = fetching.get(kid);
    if (!pending) {
      pending = attempt().finally(() => fetching.delete(kid));
      fetching.set(kid, pending);
    }
    return pending;
  }

  /** Local judgement: the signature and claims (jose), then the stream's view. */
  async function verify(token: string): Promise<{ payload: JWTPayload; kid: string | undefined }> {
    const check = () =>
      jwtVerify(token, jwks, {
        issuer,
        audience,
        typ: 'at+jwt',
        clockTolerance: clockTolerance,
        currentDate: new Date(clock()),
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
    try {
      let verified;
      try {
        verified = await check();
      } catch (err) {
        // Signed by a key announced as new that our copy of the JWKS does not show yet: once more.
        const kid = err instanceof errors.JWKSNoMatchingKey ? decodeProtectedHeader(token).kid : undefined;
        if (kid === undefined || !view.newKids.get(kid, clock())) throw err;
        await fetchKey(kid);
        verified = await check();
      }
      return { payload: verified.payload, kid: verified.protectedHeader.kid };
    } catch (err) {
      if (TOKEN_ERRORS.some((kind) => err instanceof kind)) throw invalid('The access token is invalid or expired.');
      throw new Refusal(503, 'temporarily_unavailable', 'The signing keys cannot be fetched from Latchkey.');
    }
  }

  function subjectOf(payload: JWTPayload): { userId: number; organizationId: number; role: Role } {
    const userId = Number(payload.user_id);
    const org = payload.org_id;
    if (!Number.isSafeInteger(userId) || typeof org !== 'number' || !isRole(payload.role))
      throw invalid('The access token lacks Latchkey’s claims.');
    return { userId, organizationId: org, role: payload.role };
  }

  function judgeLocally(payload: JWTPayload, kid: string | undefined): LatchkeyAuth {
    const subject = subjectOf(payload);
    const now = clock();
    if (subject.organizationId !== organizationId) throw invalid('The access token is of another organization.');
    if (kid !== undefined && view.retiredKids.get(kid, now))
      throw invalid('The access token’s signing key is retired.');
    const pat = typeof payload.pat === 'string' ? payload.pat : undefined;
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    if (pat !== undefined && view.pats.get(pat, now)) throw invalid('The token is revoked.');
    if (sid !== undefined && view.sessions.get(sid, now)) throw invalid('The session of this token has ended.');
    if (pat !== undefined && !view.apiTokensEnabled) throw invalid('Personal access tokens are disabled.');
    if (view.users.get(subject.userId, now) === false) throw invalid('The user is inactive.');
    const membership = view.memberships.get(subject.userId, now);
    if (membership === null) throw invalid('The user is no longer a member of the organization.');
    const role = membership === undefined ? subject.role : lower(subject.role, membership);
    return { sub: String(payload.sub), ...subject, role, claims: payload, via: 'stream' };
  }

  async function introspect(token: string, payload: JWTPayload): Promise<LatchkeyAuth> {
    let answer: Record<string, unknown>;
    try {
      const res = await doFetch(`${issuer}/api/token/introspect`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await options.introspection.token()}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
      answer = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new Refusal(503, 'temporarily_unavailable', 'Latchkey cannot be asked about this token now.');
    }
    if (answer.active !== true || answer.token_type !== 'access') throw invalid('The token is not active.');
    const subject = subjectOf(payload);
    const role = isRole(answer.role) ? lower(subject.role, answer.role) : subject.role;
    return { sub: String(payload.sub), ...subject, role, claims: payload, via: 'introspection' };
  }

  function refuse(res: Response, refusal: Refusal): void {
    const params = [`realm="${issuer}"`];
    if (refusal.error && refusal.status === 401) params.push(`error="${refusal.error}"`);
    if (refusal.status === 401 && refusal.error) params.push(`error_description="${refusal.message}"`);
    if (refusal.status === 401) res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
    else res.setHeader('Retry-After', '1');
    res.setHeader('Cache-Control', 'no-store');
    res
      .status(refusal.status)
      .json(
        refusal.error
          ? { error: refusal.error, error_description: refusal.message }
          : { error_description: refusal.message },
      );
  }

  const middleware = (async (req: Request, res: Response, next: NextFunction) => {
    const authorization = req.get('authorization');
    const match = authorization === undefined ? undefined : /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    try {
      if (authorization === undefined) throw new Refusal(401, undefined, 'An access token is required.');
      if (!match) throw new Refusal(401, 'invalid_request', 'The Authorization header is not a Bearer token.');
      const token = match[1]!;
      // The signature first, always: only a token Latchkey signed can cost an introspection.
      const { payload, kid } = await verify(token);
      req.latchkey = trusted() ? judgeLocally(payload, kid) : await introspect(token, payload);
    } catch (err) {
      if (err instanceof Refusal) return refuse(res, err);
      return next(err);
    }
    next();
  }) as LatchkeyMiddleware;

  return Object.defineProperties(middleware, {
    status: { get: () => status },
    lastEventId: { get: () => lastEventId },
    close: { value: () => stopper.abort() },
  });
}
