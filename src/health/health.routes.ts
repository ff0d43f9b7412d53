/**
 * `GET /healthz`: the process is alive (no dependency is checked, so an orchestrator never
 * restarts us for a database outage). `GET /readyz`: the database answers and every
 * migration on disk is applied; 503 with the reason otherwise.
 */
import { Router } from 'express';
import { fail } from '../errors';
import { route } from '../http/routing';
import type { Config } from '../config';
import type { Services } from '../context';
import { migrationStatus, type Migration } from '../db/migrator';

const READINESS_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** What the health routes look at: the process's services (once connected) and the migrations it expects. */
export interface HealthDeps {
  readonly config: Pick<Config, 'metrics'>;
  readonly services: () => Pick<Services, 'database' | 'state'> | undefined;
  readonly migrations: readonly Migration[];
}

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  route(router, '/healthz', {
    get: (_req, res) => {
      res.json({ status: 'ok' });
    },
  });
  route(router, '/readyz', {
    get: async (_req, res) => {
      const db = deps.services()?.database;
      if (!db) throw fail('service_unavailable', { detail: 'Database is not connected yet.' });
      let status;
      try {
        status = await withTimeout(
          db.withClient((client) => migrationStatus(client, deps.migrations)),
          READINESS_TIMEOUT_MS,
          'readiness check',
        );
      } catch (err) {
        throw fail('service_unavailable', { detail: 'Database is unreachable.', cause: err });
      }
      if (status.pending.length > 0)
        throw fail('service_unavailable', { detail: `Migrations pending: ${status.pending.join(', ')}.` });
      res.json({ status: 'ready', checks: { database: 'ok', migrations: `${status.applied} applied` } });
    },
  });
  if (deps.config.metrics) {
    // Prometheus text format, for operators and `npm run bench` (which reads the round trips).
    route(router, '/metrics', {
      get: (_req, res) => {
        const services = deps.services();
        const lines = [
          '# TYPE latchkey_db_round_trips_total counter',
          `latchkey_db_round_trips_total ${services?.database.roundTrips ?? 0}`,
          '# TYPE latchkey_change_feed_up gauge',
          `latchkey_change_feed_up ${services?.state.live ? 1 : 0}`,
          '# TYPE latchkey_auth_cache_entries gauge',
          `latchkey_auth_cache_entries ${services?.state.size ?? 0}`,
          ...Object.entries(process.memoryUsage()).flatMap(([kind, bytes]) => [
            `# TYPE nodejs_memory_${kind}_bytes gauge`,
            `nodejs_memory_${kind}_bytes ${bytes}`,
          ]),
        ];
        res.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
      },
    });
  }
  return router;
}
