/**
 * What Latchkey tells Prometheus, through prom-client: the process and Node.js metrics
 * (`collectDefaultMetrics`), every response by route template and status with its latency,
 * authentication outcomes by credential and refusal code, the change feed, the
 * authentication caches and the database round trips.
 *
 * Each {@link Metrics} has a registry of its own (not prom-client's global one), so a test
 * can build several apps in one process. Label values are bounded: a route is Express's
 * template (`/api/token/:id`, never the path asked for), `unmatched` when no route answered,
 * and an outcome is `success` or a code of the error catalogue. The rooms that decide an
 * authentication note it on the request (see `noteAuthentication`); only this room knows the
 * metrics, and it reads the rest when scraped.
 */
import http from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthState } from '../auth/state';
import type { Database } from '../db/database';
import { listen, reachableUrls } from '../listen';
import type { Logger } from '../logger';

/** What the metrics read when scraped: the process's services, once it has them. */
export interface MetricSources {
  readonly database: Pick<Database, 'roundTrips'>;
  readonly state: Pick<AuthState, 'live' | 'stats'>;
}

/** The `route` of a request no route answered (an unknown path, or a body refused before routing). */
export const UNMATCHED = 'unmatched';

/** Seconds; finer than prom-client's default at the low end, where a warm credential answers. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Default metrics that are gauges despite their `_total` (see the constructor). */
const NOT_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The route template that answered `req` (`/api/token/:id`), or {@link UNMATCHED}. */
function routeOf(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  return route?.path === undefined ? UNMATCHED : `${req.baseUrl}${String(route.path)}`;
}

export class Metrics {
  /** This instance's registry: what `/metrics` exposes. */
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #latency: Histogram<'method' | 'route' | 'status'>;
  readonly #authentications: Counter<'credential' | 'outcome'>;

  constructor(sources: () => MetricSources | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client's gauges named `_total` fail Prometheus's conventions (promtool: "non-counter
    // metrics should not have _total suffix"); each is the sum of its labelled sibling
    // (`nodejs_active_handles{type}` and so on), which stays.
    for (const name of NOT_COUNTERS) this.registry.removeSingleMetric(name);
    this.#requests = new Counter({
      name: 'latchkey_http_requests_total',
      help: 'HTTP responses sent, by method, route template (unmatched: no route answered) and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'latchkey_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#authentications = new Counter({
      name: 'latchkey_authentications_total',
      help: 'Authentications decided, by credential (access_token, legacy_token, session, none, or pat for a refresh) and outcome (success, or the error code of the refusal).',
      labelNames: ['credential', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'latchkey_change_feed_up',
      help: '1 while the change feed listens and the authentication caches are in use; 0 while every request reads the database.',
      registers,
      collect() {
        this.set(sources()?.state.live ? 1 : 0);
      },
    });
    new Gauge({
      name: 'latchkey_auth_cache_entries',
      help: 'Entries held in each authentication cache (bounded by LATCHKEY_AUTH_CACHE_SIZE).',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const { cache, entries } of sources()?.state.stats() ?? []) this.set({ cache }, entries);
      },
    });
    new Counter({
      name: 'latchkey_auth_cache_lookups_total',
      help: 'Lookups in each authentication cache, by result: hit (answered from memory) or miss (the database was read).',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        for (const { cache, hits, misses } of sources()?.state.stats() ?? []) {
          this.inc({ cache, result: 'hit' }, hits);
          this.inc({ cache, result: 'miss' }, misses);
        }
      },
    });
    new Counter({
      name: 'latchkey_db_round_trips_total',
      help: 'Database connections taken from the pool: one per query or transaction.',
      registers,
      collect() {
        this.reset();
        this.inc(sources()?.database.roundTrips ?? 0);
      },
    });
  }

  /**
   * Express middleware, first in the chain: counts and times every response when it is sent,
   * with the authentication outcome noted on the request, if any.
   */
  requests(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
        this.#requests.inc(labels);
        this.#latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        if (req.authentication) this.#authentications.inc({ ...req.authentication });
      });
      next();
    };
  }

  /** The Prometheus text exposition of everything registered. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface MetricsServer {
  /** Where it is scraped: `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `metrics` at `GET /metrics` on a listener of its own (not the API's), as Prometheus
 * exporters are: it is unauthenticated, so it binds where it is told (loopback by default).
 * Anything else there is a plain 404, or 405 for another method.
 */
export async function serveMetrics(
  metrics: Metrics,
  where: { readonly host: string; readonly port: number },
  logger: Logger,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?', 1)[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Method not allowed.\n');
      return;
    }
    metrics.exposition().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Collecting metrics failed.\n');
      },
    );
  });
  // Two instances on one host would collide on the default port: the refusal says which setting to change.
  const bound = await listen(server, {
    ...where,
    portVariable: 'LATCHKEY_METRICS_PORT',
    hostVariable: 'LATCHKEY_METRICS_HOST',
    hint: ' (0 turns the exporter off)',
    onError: (err) => logger.warn({ err }, 'metrics listener error'),
  });
  return {
    url: `${reachableUrls(bound)[0]}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
