import type { NextFunction, Request, Response, Router } from 'express';
import type { z } from 'zod';
import { fail, type ErrorCode } from '../errors';

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Which credentials an operation accepts: any of the API's (`authenticated`: `requireAuth`),
 * any or none (`optional`: the route reads one only in some cases), or none (`public`).
 */
export type Access = 'authenticated' | 'optional' | 'public';

/** A documented answer: its status's description, and the body schema (JSON unless `contentType` says otherwise). */
export interface DocumentedResponse {
  readonly description: string;
  /** The body; absent for an empty answer (204, or a 200 that sends nothing). */
  readonly schema?: z.ZodType;
  readonly contentType?: string;
  /** Response headers worth naming (name → description). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An operation's API description, declared beside its handlers with the schemas they validate
 * with (`src/http/openapi.ts` turns it into OpenAPI 3.1). The error statuses are derived from
 * the catalogue codes listed in `errors`, plus those every operation of its kind can answer
 * (see `openapi.ts`: authentication's 401s, a body's 400/413/415, a path id's 404, and the
 * database's 503 unless `offline`).
 */
export interface ApiOperation {
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: Access;
  /** The request body schema (what `parseBody` is given), and the types it may come in (default JSON and form). */
  readonly body?: z.ZodType;
  readonly bodyTypes?: readonly string[];
  /** Path parameters' schemas, by name (`:id` → `id`); a name not given is a plain string. */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  /** The query string's parameters (an object schema: each key is a parameter). */
  readonly query?: z.ZodObject;
  /** The successful answers, by status. */
  readonly responses: Readonly<Record<number, DocumentedResponse>>;
  /** The catalogue codes this operation itself may answer, beyond those of its kind. */
  readonly errors?: readonly ErrorCode[];
  /** True when it answers without the database (no 503). */
  readonly offline?: boolean;
  /** The error body's shape: the contract's, or RFC 6749 §5.2's at the standard OAuth endpoints. */
  readonly errorFormat?: 'contract' | 'oauth';
}

/** One path's declared operations; `all` is an operation served for any method (forward-auth). */
export interface DeclaredRoute {
  readonly path: string;
  readonly operations: Readonly<Partial<Record<Method | 'all', ApiOperation>>>;
}

const declarations = new WeakMap<Router, DeclaredRoute[]>();

/** Records `path`'s API description on `router`, where the OpenAPI document reads it. */
export function describe(router: Router, path: string, operations: DeclaredRoute['operations']): void {
  const declared = declarations.get(router) ?? [];
  declared.push({ path, operations });
  declarations.set(router, declared);
}

/** What `router`'s routes declared, in declaration order. */
export function declaredRoutes(router: Router): readonly DeclaredRoute[] {
  return declarations.get(router) ?? [];
}

/**
 * Declares one path with its handlers per method, and a JSON 405 with `Allow` for every other
 * method (the Label Studio SDK parses every error body as JSON, 405 included). Express's
 * non-strict routing makes `/x` and `/x/` the same route, with no redirect. `before` runs
 * first for every method, the 405 and OPTIONS included. `api` describes each method for the
 * OpenAPI document (a test requires one for every method served).
 */
export function route(
  router: Router,
  path: string,
  handlers: Partial<Record<Method, Handler | Handler[]>>,
  { before, api }: { before?: Handler; api?: Partial<Record<Method, ApiOperation>> } = {},
): void {
  const r = router.route(path);
  if (before) r.all(before);
  const allowed = new Set<string>();
  for (const [method, handler] of Object.entries(handlers) as [Method, Handler | Handler[]][]) {
    r[method](...(Array.isArray(handler) ? handler : [handler]));
    allowed.add(method.toUpperCase());
    if (method === 'get') allowed.add('HEAD');
  }
  if (!allowed.has('OPTIONS')) allowed.add('OPTIONS');
  const allow = [...allowed].join(', ');
  r.options((_req, res) => {
    res.setHeader('Allow', allow);
    res.status(204).end();
  });
  r.all((req, _res, next) =>
    next(fail('method_not_allowed', { detail: `Method "${req.method}" not allowed.`, headers: { Allow: allow } })),
  );
  if (api) describe(router, path, api);
}
