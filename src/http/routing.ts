import type { NextFunction, Request, Response, Router } from 'express';
import { fail } from '../errors';

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Declares one path with its handlers per method, and a JSON 405 with `Allow` for every other
 * method (the Label Studio SDK parses every error body as JSON, 405 included). Express's
 * non-strict routing makes `/x` and `/x/` the same route, with no redirect. `before` runs
 * first for every method, the 405 and OPTIONS included.
 */
export function route(
  router: Router,
  path: string,
  handlers: Partial<Record<Method, Handler | Handler[]>>,
  { before }: { before?: Handler } = {},
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
}
