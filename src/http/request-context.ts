import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger';

declare module 'express-serve-static-core' {
  interface Request {
    /** Echoed in `X-Request-Id` and in every error body. */
    id: string;
  }
}

/** A caller-supplied id is kept only if it is short and plain, so it is safe in logs and headers. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Anything in a path that has the shape of a credential: a JWS (three base64url parts) or a legacy token. */
const CREDENTIAL_IN_PATH = /[\w-]{10,}\.[\w-]{10,}(?:\.[\w-]*)?|lkt_[A-Za-z0-9]+/g;

/** A path as it may be logged: a token pasted into a URL (`GET /api/token/<PAT>`) is not kept. */
export const redactPath = (path: string) => path.replace(CREDENTIAL_IN_PATH, '[redacted]');

/**
 * Assigns the request id and writes one access-log line per response. The line is built from
 * an allow-list: no header, no query string (tokens travel in both), no body.
 */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    if (!logger.isLevelEnabled('info')) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = redactPath(req.originalUrl.split('?', 1)[0]!);
      logger.info(
        { reqId: req.id, method: req.method, path, status: res.statusCode, ms: Math.round(ms * 100) / 100 },
        'request',
      );
    });
    next();
  };
}
