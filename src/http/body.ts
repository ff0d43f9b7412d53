import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../errors';

export const BODY_LIMIT = '16kb';
const ACCEPTED_TYPES = ['application/json', 'application/*+json', 'application/x-www-form-urlencoded'];

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Any request that carries a body must carry it as JSON or as a form (RFC 7662 needs forms). */
function requireKnownContentType(req: Request, _res: Response, next: NextFunction) {
  if (hasBody(req) && !req.is(ACCEPTED_TYPES)) {
    next(new AppError(415, 'unsupported_media_type', `Unsupported media type "${req.get('content-type') ?? ''}" in request.`));
    return;
  }
  next();
}

/** Content-type gate, then the JSON and form parsers, both capped at 16 KiB. */
export const bodyParsers = [
  requireKnownContentType,
  express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 100 }),
];
