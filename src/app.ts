/**
 * Builds the Express application from its dependencies. Tests import this; `main.ts` listens.
 * Order matters: request id and access log first (so even a 413 has an id), security headers,
 * body parsing, feature routers, then the JSON 404 and the one error serializer.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Config } from './config';
import type { Database } from './db/database';
import type { Migration } from './db/migrator';
import { notFound, sendError, toAppError } from './errors';
import { healthRouter } from './health/health.routes';
import { bodyParsers } from './http/body';
import { requestContext } from './http/request-context';
import type { Logger } from './logger';

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Undefined while the process is still connecting; routes that need it answer 503. */
  readonly database: () => Database | undefined;
  /** The migrations this build expects to find applied (readiness compares). */
  readonly migrations: readonly Migration[];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestContext(deps.logger));
  app.use(helmet());
  app.use(bodyParsers);

  app.use(healthRouter(deps));

  app.use((req: Request, _res: Response, next: NextFunction) => next(notFound()));
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const error = toAppError(err);
    if (error.code === 'internal_error') deps.logger.error({ reqId: req.id, err: error.cause }, 'unhandled error');
    else if (error.status >= 500 && error.cause) deps.logger.warn({ reqId: req.id, code: error.code, reason: (error.cause as Error | undefined)?.message }, error.detail);
    sendError(req, res, error);
  });
  return app;
}
