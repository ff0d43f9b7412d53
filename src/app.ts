/**
 * Builds the Express application from its dependencies. Tests import this; `main.ts` listens.
 * Order matters: metrics (when given) and request id and access log first (so even a 413 is
 * counted and has an id), security headers, the OAuth endpoints (which parse their own forms),
 * body parsing, feature routers, the API's description (built from what those routers declare),
 * then the JSON 404 and the one error serializer.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import helmet from 'helmet';
import { forwardAuthRouter } from './auth/forward-auth.routes';
import { PerMinuteLimit } from './rate-limit';
import { LoginThrottle } from './sessions/throttle';
import { sessionsRouter } from './sessions/sessions.routes';
import { setupRouter } from './setup/setup.routes';
import { accountRouter } from './account/account.routes';
import type { Config } from './config';
import type { Context, Services } from './context';
import type { Migration } from './db/migrator';
import { fail, sendError, toAppError } from './errors';
import { docsRouter } from './docs/docs.routes';
import { healthRouter } from './health/health.routes';
import { bodyParsers } from './http/body';
import { openApiDocument } from './http/openapi';
import { sendJsonWithNewline } from './http/responses';
import { requestContext } from './http/request-context';
import { wellKnownRouter } from './keys/keys.routes';
import { legacyRouter } from './legacy/legacy.routes';
import type { Logger } from './logger';
import type { Metrics } from './metrics/metrics';
import { orgsRouter } from './orgs/orgs.routes';
import { oauthRouter } from './tokens/oauth.routes';
import { tokensRouter } from './tokens/tokens.routes';
import { packageVersion } from './version';
import { webRouter } from './web/web.routes';

/**
 * The security headers of a JSON API (OWASP REST Security Cheat Sheet): no content may run or
 * be framed, no MIME sniffing, HSTS, no referrer, same-origin resources. Helmet's headers for
 * HTML documents (COOP, Origin-Agent-Cluster, DNS prefetch, IE download options, Flash policy
 * files, the XSS auditor) are left out: nothing here is a document, and each header is paid
 * on every response.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' },
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: { action: 'deny' },
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Undefined while the process is still connecting; routes that need them answer 503. */
  readonly services: () => Services | undefined;
  /** The migrations this build expects to find applied (readiness compares). */
  readonly migrations: readonly Migration[];
  /** Milliseconds since the epoch; tests freeze it. Default Date.now. */
  readonly clock?: () => number;
  /** Counts and times every response (served elsewhere: see server.ts). Absent: nothing is measured. */
  readonly metrics?: Metrics;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.config.trustProxy);
  sendJsonWithNewline(app);

  const clock = deps.clock ?? Date.now;
  let cached: { services: Services; context: Context } | undefined;
  const context = (): Context => {
    const services = deps.services();
    if (!services) throw fail('service_unavailable', { detail: 'Database is not connected yet.' });
    if (cached?.services !== services) {
      const { database: _database, ...rest } = services;
      cached = { services, context: { ...rest, config: deps.config, logger: deps.logger, clock } };
    }
    return cached.context;
  };

  /** Every router, in the order mounted: the OpenAPI document describes what they declare. */
  const routers: Router[] = [];
  const mount = (router: Router) => {
    routers.push(router);
    app.use(router);
  };

  if (deps.metrics) app.use(deps.metrics.requests());
  app.use(requestContext(deps.logger));
  app.use(securityHeaders);
  // Before the body parsers: the standard OAuth endpoints read forms only, and answer whatever
  // else they are sent in their RFCs' words.
  mount(oauthRouter(context));
  app.use(bodyParsers);

  // The hot routes' routers first: each request walks the routers in this order.
  mount(forwardAuthRouter(context));
  mount(sessionsRouter(context, new LoginThrottle()));
  mount(accountRouter(context));
  mount(
    tokensRouter(context, new PerMinuteLimit(deps.config.patCreatePerMinute, clock, 'personal access tokens created')),
  );
  mount(legacyRouter(context));
  mount(orgsRouter(context));
  mount(setupRouter(context));
  mount(wellKnownRouter(context, deps.config.issuer));
  mount(healthRouter(deps));
  let document: object | undefined;
  mount(
    docsRouter({
      issuer: deps.config.issuer,
      document: () =>
        (document ??= openApiDocument(routers, {
          title: 'Latchkey',
          version: packageVersion(),
          description:
            'Personal access tokens, wire-compatible with Label Studio’s token API. Every error is `{id, status_code, code, detail}` (plus `validation_errors` on a 400), except at the standard OAuth endpoints (RFC 6749 §5.2). Prose: docs/API.md.',
          server: deps.config.issuer,
        })),
    }),
  );
  // The web pages last: they are the least requested, and never shadow an API path.
  app.use(webRouter());

  app.use((_req: Request, _res: Response, next: NextFunction) => next(fail('not_found')));
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const error = toAppError(err);
    if (error.code === 'internal_error') deps.logger.error({ reqId: req.id, err: error.cause }, 'unhandled error');
    else if (error.status >= 500 && error.cause)
      deps.logger.warn(
        { reqId: req.id, code: error.code, reason: (error.cause as Error | undefined)?.message },
        error.detail,
      );
    sendError(req, res, error);
  });
  return app;
}
