/**
 * `GET /api/token/events`: the revocation stream as Server-Sent Events. HTTP only: the cursor,
 * the log and the hub are events.service.ts's.
 *
 *   retry: 2000                      once, first
 *   event: reset                     when the client's Last-Event-ID cannot be resumed
 *   id: 42 / event: pat_revoked / data: {"jtis": [...], "at": "..."}      each event
 *   id: 57 / event: ready            once the retained log is replayed: the client is current
 *   : heartbeat (+ id: when the cursor moved past other organizations' events)   every 15 s
 *
 * Writes wait for the socket (backpressure) instead of buffering; a client that reads nothing
 * for {@link SLOW_CONSUMER_MS} is dropped. A stream ends when its access token expires (the
 * client reconnects with a fresh one and resumes) and when the server stops.
 */
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import { isOrgAdmin } from '../auth/roles';
import { epochSeconds, type Context } from '../context';
import { fail } from '../errors';
import { route } from '../http/routing';
import { decodeUnverified } from './jwt';
import { nextEvents, startingPoint, type EventSubscription, type TokenEvent } from './events.service';

/** The reconnection delay a client is told (SSE `retry:`). */
const RETRY_MS = 2_000;
/** A client whose socket accepts nothing for this long is dropped (it resumes when it is back). */
const SLOW_CONSUMER_MS = 30_000;

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  // nginx buffers proxied responses unless told not to.
  'X-Accel-Buffering': 'no',
};

/** Services of an organization: an access token (a login's or a PAT's) of an owner or administrator. */
function mayStream(principal: Principal): boolean {
  const kind = principal.credential.kind;
  return (kind === 'pat_access' || kind === 'login_access') && isOrgAdmin(principal.role);
}

/** The `exp` of the access token the request was authenticated with (verified by then). */
function expiryOf(req: Request): number | undefined {
  const header = req.get('x-api-key') ?? req.get('authorization')?.trim().split(/\s+/)[1];
  const exp = decodeUnverified(header?.trim())?.payload.exp;
  return typeof exp === 'number' ? exp : undefined;
}

const frame = (event: TokenEvent) => `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;

/** Writes to `res`, waiting for the socket to drain; false once the stream has ended. */
function writerFor(res: Response, subscription: EventSubscription) {
  return async (text: string): Promise<boolean> => {
    if (subscription.ended) return false;
    if (res.write(text)) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => () => resolve(ok);
      res.once('drain', done(true));
      subscription.onEnd(done(false));
      timer = setTimeout(done(false), SLOW_CONSUMER_MS);
    });
    clearTimeout(timer);
    if (!drained && !subscription.ended) {
      subscription.end('slow_consumer');
      res.destroy();
    }
    return drained && !subscription.ended;
  };
}

async function stream(ctx: Context, req: Request, res: Response): Promise<void> {
  const principal = principalOf(req);
  if (!mayStream(principal))
    throw fail('permission_denied', {
      detail:
        'The token event stream is for services of the organization: an access token of an owner or administrator.',
    });
  if (req.method === 'HEAD') {
    res.writeHead(200, STREAM_HEADERS).end();
    return;
  }
  const subscription = ctx.events.subscribe(principal.organizationId);
  res.on('close', () => subscription.end('client_gone'));
  let expiry: NodeJS.Timeout | undefined;
  try {
    const start = await startingPoint(ctx, req.get('last-event-id'));
    if (subscription.ended) return;
    const exp = expiryOf(req);
    if (exp !== undefined) {
      const left = Math.min(Math.max(0, exp * 1000 - ctx.clock()), 2 ** 31 - 1);
      expiry = setTimeout(() => subscription.end('credential_expired'), left).unref();
    }
    res.writeHead(200, STREAM_HEADERS);
    const write = writerFor(res, subscription);
    await write(`retry: ${RETRY_MS}\n\n`);
    if (start.reset) await write(`event: reset\ndata: ${JSON.stringify({ reason: start.reset })}\n\n`);
    let cursor = start.cursor;
    /** The cursor the client holds (the last id it was sent). */
    let held = start.reset ? undefined : cursor;
    let ready = false;
    for (let work = await subscription.next(); work !== 'end'; work = await subscription.next()) {
      if (work === 'beat' && ctx.events.latest > cursor) subscription.wake();
      if (work === 'read') {
        for (let more = true; more;) {
          const batch = await nextEvents(ctx, principal.organizationId, cursor);
          for (const event of batch.events) {
            if (!(await write(frame(event)))) return;
            held = event.id;
          }
          ({ cursor, more } = batch);
        }
        if (!ready) {
          ready = true;
          held = cursor;
          const at = epochSeconds(ctx);
          if (!(await write(`id: ${cursor}\nevent: ready\ndata: ${JSON.stringify({ at })}\n\n`))) return;
        }
      }
      if (work === 'beat' && !(await write(`: heartbeat\n${held === cursor ? '' : `id: ${cursor}\n`}\n`))) return;
      if (work === 'beat') held = cursor;
    }
  } catch (err) {
    if (!res.headersSent) throw err;
    ctx.logger.warn({ reqId: req.id, err: { message: (err as Error).message } }, 'token event stream failed');
    subscription.end('error');
  } finally {
    clearTimeout(expiry);
    subscription.end(subscription.ended ?? 'error');
    if (res.headersSent && !res.destroyed) res.end();
  }
}

export function tokenEventsRoute(router: Router, context: () => Context): void {
  route(
    router,
    '/api/token/events',
    { get: [requireAuth(context), (req, res) => stream(context(), req, res)] },
    {
      api: {
        get: {
          summary: 'The revocation stream of the caller’s organization (Server-Sent Events)',
          description:
            'For services that verify access tokens locally: revoked PATs, deactivated users, changed or removed memberships, ended sessions, policy changes and key rotations, as they commit. Resumable with `Last-Event-ID`; a `reset` event says the client must distrust what it holds; `ready` marks the end of the replay. Owners and administrators, with an access token.',
          tags: ['Personal access tokens'],
          access: 'authenticated',
          responses: {
            200: {
              description: 'An event stream (`id:`, `event:`, `data:` JSON), with a comment heartbeat every 15 s.',
              contentType: 'text/event-stream',
              schema: z.string(),
            },
          },
          errors: ['permission_denied', 'stream_limit_reached'],
        },
      },
    },
  );
}
