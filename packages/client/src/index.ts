/**
 * Latchkey's API from TypeScript. Give it a personal access token (PAT); it exchanges it for
 * short-lived access tokens (Label Studio's `POST /api/token/refresh`), refreshes one ahead of
 * its `exp`, refreshes once more and retries when the server answers 401 `token_expired`, and
 * lets any number of concurrent calls share one refresh. Only `fetch` is used, so it runs in
 * Node 20+ and in browsers alike. Its typed calls (`api`) are generated from the OpenAPI
 * document the server serves (`npm run client:types`; CI fails when they are out of date).
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi';

export type { paths } from './openapi';

export interface LatchkeyClientOptions {
  /** Where Latchkey answers, e.g. `https://latchkey.example.com`. */
  readonly baseUrl: string | URL;
  /** The personal access token: a long-lived refresh JWT. */
  readonly pat: string;
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Refresh this long before `exp` (default 30 s), so that a token is never sent as it expires. */
  readonly refreshAheadSeconds?: number;
  /** Milliseconds since the epoch (default `Date.now`); tests move it. */
  readonly clock?: () => number;
}

/** An answer other than 2xx, with the contract's error body when there is one. */
export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError';
  constructor(
    readonly status: number,
    /** The contract's stable error code (`token_expired`, `permission_denied`, ...), when the body had one. */
    readonly code: string | undefined,
    readonly body: unknown,
  ) {
    super(`Latchkey answered ${status}${code ? ` ${code}` : ''}`);
  }
}

interface Access {
  readonly token: string;
  /** Seconds since the epoch. */
  readonly exp: number;
}

/** The `exp` of a JWT, read without verifying it: the client only needs to know when to refresh. */
function expiryOf(token: string): number {
  const payload = token.split('.')[1];
  if (!payload) throw new TypeError('the access token is not a JWT');
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const exp = (JSON.parse(json) as { exp?: unknown }).exp;
  if (typeof exp !== 'number') throw new TypeError('the access token has no exp');
  return exp;
}

function withBearer(request: Request, token: string): Request {
  const headers = new Headers(request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return new Request(request, { headers });
}

async function errorOf(res: Response): Promise<LatchkeyError> {
  const body: unknown = await res.json().catch(() => undefined);
  const code = typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : undefined;
  return new LatchkeyError(res.status, code, body);
}

export class LatchkeyClient {
  readonly #base: URL;
  readonly #pat: string;
  readonly #fetch: typeof fetch;
  readonly #ahead: number;
  readonly #clock: () => number;
  #access: Access | undefined;
  /** The refresh in flight, shared by every caller that needs a token meanwhile. */
  #refreshing: Promise<Access> | undefined;
  /** Typed calls for every route, e.g. `await latchkey.api.GET('/api/token/')` (openapi-fetch). */
  readonly api: Client<paths>;

  constructor(options: LatchkeyClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#pat = options.pat;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#ahead = options.refreshAheadSeconds ?? 30;
    this.#clock = options.clock ?? Date.now;
    this.api = createClient<paths>({
      baseUrl: this.#base.href.replace(/\/$/, ''),
      fetch: (request: Request) => this.#authorized(request),
    });
  }

  /** A current access token: the one held, unless it is within `refreshAheadSeconds` of `exp`. */
  async accessToken(): Promise<string> {
    const held = this.#access;
    if (held && held.exp - this.#ahead > this.#clock() / 1000) return held.token;
    return (await this.#refresh(held)).token;
  }

  /**
   * `fetch` against Latchkey with `Authorization: Bearer <access token>`. A 401 `token_expired`
   * (the server's clock ran ahead of ours) refreshes once and retries once; any other answer is
   * returned as it is.
   */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return this.#authorized(new Request(new URL(path, this.#base), init));
  }

  /** `fetch`, then the JSON body of a 2xx; a {@link LatchkeyError} otherwise. */
  async json<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(path, init);
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** `GET /api/current-user/whoami`: the Label Studio user object of the PAT's owner. */
  whoami<T = Record<string, unknown>>(): Promise<T> {
    return this.json<T>('/api/current-user/whoami');
  }

  /** Sends `request` with the current access token; on 401 `token_expired`, refreshes once and resends once. */
  async #authorized(request: Request): Promise<Response> {
    const again = request.clone();
    const held = await this.accessToken();
    const res = await this.#fetch(withBearer(request, held));
    if (res.status !== 401 || (await this.#code(res.clone())) !== 'token_expired') return res;
    const fresh = await this.#refresh(this.#access?.token === held ? this.#access : undefined);
    return this.#fetch(withBearer(again, fresh.token));
  }

  async #code(res: Response): Promise<string | undefined> {
    const body: unknown = await res.json().catch(() => undefined);
    return typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : undefined;
  }

  /**
   * One refresh at a time: a caller that finds one in flight waits for it. `stale` is the token
   * the caller found wanting; if another caller has replaced it meanwhile, that one is used.
   */
  #refresh(stale: Access | undefined): Promise<Access> {
    if (this.#access && this.#access !== stale && this.#access.exp - this.#ahead > this.#clock() / 1000)
      return Promise.resolve(this.#access);
    this.#refreshing ??= this.#exchange().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #exchange(): Promise<Access> {
    const res = await this.#fetch(new URL('/api/token/refresh', this.#base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh: this.#pat }),
    });
    if (!res.ok) throw await errorOf(res);
    const { access } = (await res.json()) as { access: string };
    this.#access = { token: access, exp: expiryOf(access) };
    return this.#access;
  }
}
