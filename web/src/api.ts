/**
 * Latchkey's API, typed from the OpenAPI document (packages/client/src/openapi.ts), called with
 * the session cookie. Writes carry `X-CSRFToken` (the `csrftoken` cookie, as Django's pages do).
 * Every answer outside 2xx becomes an {@link ApiError} carrying the contract's error body; a
 * 401 also tells the app (see {@link onUnauthorized}), which sends the user to "Sign in".
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../../packages/client/src/openapi';
import { retryText } from './time';

export type ErrorBody = components['schemas']['Error'];

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function cookie(name: string): string | undefined {
  for (const pair of document.cookie.split(';')) {
    const [key, ...value] = pair.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** An answer outside 2xx (or no answer at all: `status` 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
    /** Seconds, from `Retry-After` (429, 503). */
    readonly retryAfter: number | undefined,
    options?: ErrorOptions,
  ) {
    super(body?.detail ?? (status ? `The server answered ${status}.` : 'The server could not be reached.'), options);
  }

  get code(): string | undefined {
    return this.body?.code;
  }

  get fieldErrors(): Record<string, string[]> {
    return this.body?.validation_errors ?? {};
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && 'code' in value && 'detail' in value;
}

function retryAfterOf(response: Response): number | undefined {
  const header = response.headers.get('Retry-After');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

type Listener = (error: ApiError) => void;
let unauthorized: Listener | undefined;

/** The app's handler for a 401 from any call but a login's (a wrong password is a 401 too). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorized = listener;
  return () => {
    if (unauthorized === listener) unauthorized = undefined;
  };
}

/** Paths whose 401 is the answer to show, not a sign that the session ended. */
const SIGN_IN_PATHS = new Set(['/api/auth/login', '/api/setup']);

const csrf: Middleware = {
  onRequest({ request }) {
    const token = cookie('csrftoken');
    if (UNSAFE_METHODS.has(request.method) && token) request.headers.set('X-CSRFToken', token);
    return request;
  },
};

export const api = createClient<paths>({ credentials: 'same-origin', headers: { Accept: 'application/json' } });
api.use(csrf);

type Call<T> = Promise<{ data?: T; error?: unknown; response: Response }>;

/**
 * The data of a call's 2xx answer, or an {@link ApiError}:
 * `const tokens = await ok(api.GET('/api/token'))`.
 */
export async function ok<T>(call: Call<T>): Promise<T> {
  return (await answer(call)).data;
}

/** {@link ok}, with the response too (for its headers). */
export async function answer<T>(call: Call<T>): Promise<{ data: T; response: Response }> {
  let result: Awaited<Call<T>>;
  try {
    result = await call;
  } catch (cause) {
    // fetch rejects only when there was no answer (offline, server down, blocked).
    throw new ApiError(0, undefined, undefined, { cause });
  }
  const { data, error, response } = result;
  if (response.ok) return { data: data as T, response };
  const failure = new ApiError(response.status, isErrorBody(error) ? error : undefined, retryAfterOf(response));
  if (response.status === 401 && !SIGN_IN_PATHS.has(new URL(response.url).pathname.replace(/\/$/, ''))) {
    unauthorized?.(failure);
  }
  throw failure;
}

/** What to tell a person about a failed call, in the server's words where it gave some. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (error.retryAfter !== undefined && (error.status === 429 || error.status === 503)) {
    // The server's "...; try again in 892 seconds." becomes a time people can read.
    const reason = error.message.replace(/[\s;,.]*try again\b.*$/i, '.');
    return `${reason} Try again ${retryText(error.retryAfter)}.`;
  }
  return error.message;
}
