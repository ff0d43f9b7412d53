import express, { type NextFunction, type Request, type Response } from 'express';
import { fail } from '../errors';

export const BODY_LIMIT = '16kb';
const ACCEPTED_TYPES = ['application/json', 'application/*+json', 'application/x-www-form-urlencoded'];

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

const json = express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
const form = express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 100 });

/**
 * A request that carries a body must carry it as JSON or as a form (RFC 7662 needs forms),
 * at most 16 KiB. One middleware, and nothing at all to do for the (hot) body-less requests.
 */
export function bodyParsers(req: Request, res: Response, next: NextFunction): void {
  if (!hasBody(req)) {
    next();
    return;
  }
  if (!req.is(ACCEPTED_TYPES)) {
    next(
      fail('unsupported_media_type', {
        detail: `Unsupported media type "${req.get('content-type') ?? ''}" in request.`,
      }),
    );
    return;
  }
  (req.is(['application/x-www-form-urlencoded']) ? form : json)(req, res, (err?: unknown) =>
    next(err === undefined ? undefined : undecodable(err)),
  );
}

/**
 * For the endpoints whose standard takes a form and nothing else (RFC 6749 §3.2, RFC 7009
 * §2.1): parses a form body, within the same bounds, and leaves any other body unread (Node
 * discards it), for the route to refuse in its standard's words. Those routes come before
 * {@link bodyParsers}.
 */
export function formBody(req: Request, res: Response, next: NextFunction): void {
  if (!hasBody(req) || !req.is(['application/x-www-form-urlencoded'])) {
    next();
    return;
  }
  form(req, res, (err?: unknown) => next(err === undefined ? undefined : undecodable(err)));
}

/**
 * The parsers tag every error they raise with a `type` (errors.ts maps those), except a body
 * that fails to decompress under its Content-Encoding: zlib's error, passed on as it is. That
 * is a malformed body as well.
 */
function undecodable(err: unknown): unknown {
  const typed = typeof err === 'object' && err !== null && 'type' in err && typeof err.type === 'string';
  return typed
    ? err
    : fail('malformed_body', {
        detail: 'The request body could not be decoded with its Content-Encoding.',
        cause: err,
      });
}
