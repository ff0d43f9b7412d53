/**
 * `GET /healthz`: the process is alive (no dependency is checked, so an orchestrator never
 * restarts us for a database outage). `GET /readyz`: the database answers and every
 * migration on disk is applied; 503 with the reason otherwise.
 */
import { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors';
import { route } from '../http/routing';
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

const TAGS = ['Operations'];
const alive = z.object({ status: z.literal('ok') });
const ready = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: z.literal('ok'), migrations: z.string() }),
});

/** What the health routes look at: the process's services (once connected) and the migrations it expects. */
export interface HealthDeps {
  readonly services: () => Pick<Services, 'database' | 'state'> | undefined;
  readonly migrations: readonly Migration[];
}

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  route(
    router,
    '/healthz',
    {
      get: (_req, res) => {
        res.json({ status: 'ok' } satisfies z.output<typeof alive>);
      },
    },
    {
      api: {
        get: {
          summary: 'Liveness',
          description: 'The process is alive; no dependency is checked.',
          tags: TAGS,
          access: 'public',
          offline: true,
          responses: { 200: { description: 'Alive.', schema: alive } },
        },
      },
    },
  );
  route(
    router,
    '/readyz',
    {
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
        res.json({
          status: 'ready',
          checks: { database: 'ok', migrations: `${status.applied} applied` },
        } satisfies z.output<typeof ready>);
      },
    },
    {
      api: {
        get: {
          summary: 'Readiness',
          description:
            'The database answers and every migration this build expects is applied; 503 with the reason otherwise.',
          tags: TAGS,
          access: 'public',
          responses: { 200: { description: 'Ready.', schema: ready } },
        },
      },
    },
  );
  return router;
}
