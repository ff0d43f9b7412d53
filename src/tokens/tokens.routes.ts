/** The Label Studio PAT endpoints (contract: "Label Studio-compatible endpoints"). HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { authenticate, noteAuthentication, principalOf, requireAuth } from '../auth/authenticate';
import { ROLES } from '../auth/roles';
import type { PerMinuteLimit } from '../rate-limit';
import type { Context } from '../context';
import { iso, noStore } from '../http/responses';
import { route } from '../http/routing';
import { choice, idParam, integer, parseBody, text } from '../http/validate';
import { tokenEventsRoute } from './events.routes';
import { introspect } from './introspection.service';
import {
  createPat,
  deletePat,
  isFullToken,
  listedJti,
  listPats,
  refresh,
  revokeHeldPat,
  revokeListedPat,
  rotate,
} from './tokens.service';

/** The PAT (or its listed `header.payload`) under `refresh`, as simplejwt names it. */
const refreshBody = z.object({ refresh: text() });

const introspectBody = z.object({
  token: z.string({ error: 'This field is required.' }),
  token_type_hint: z.string().optional(),
});

const DEFAULT_NAME = 'Personal access token';

const createBody = z.object({
  name: text(100).default(DEFAULT_NAME),
  expires_in_days: integer(1, 73_000).optional(),
  role: choice(ROLES).optional(),
});

/** `creations` bounds how many PATs one user may mint (create or rotate) a minute. */
export function tokensRouter(context: () => Context, creations: PerMinuteLimit): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(router, '/api/token/refresh', {
    post: async (req, res) => {
      const { refresh: pat } = parseBody(refreshBody, req.body);
      const { token: access } = await noteAuthentication(req, 'pat', refresh(context(), pat, req.ip));
      noStore(res).json({ access });
    },
  });

  route(router, '/api/token/blacklist', {
    post: async (req, res) => {
      const { refresh: value } = parseBody(refreshBody, req.body);
      const ctx = context();
      if (isFullToken(value)) await revokeHeldPat(ctx, value, req.ip);
      else {
        const jti = listedJti(value);
        await revokeListedPat(ctx, await authenticate(ctx, req), jti, req.ip);
      }
      res.status(204).end();
    },
  });

  // RFC 7662 §2.1: `token` (and an optional `token_type_hint`, which we do not need).
  route(router, '/api/token/introspect', {
    post: [
      auth,
      async (req, res) => {
        const { token } = parseBody(introspectBody, req.body);
        noStore(res).json(await introspect(context(), principalOf(req), token));
      },
    ],
  });

  route(router, '/api/token/rotate', {
    post: [
      auth,
      async (req, res) => {
        const { refresh: pat } = parseBody(refreshBody, req.body);
        const principal = principalOf(req);
        creations.take(String(principal.userId));
        noStore(res).json({ refresh: await rotate(context(), principal, pat, req.ip) });
      },
    ],
  });

  route(router, '/api/token', {
    get: [
      auth,
      async (req, res) => {
        const pats = await listPats(context(), principalOf(req));
        res.json(
          pats.map(({ row, token }) => ({
            id: row.id,
            name: row.name,
            token,
            role: row.role,
            created_at: iso(row.createdAt),
            expires_at: iso(row.expiresAt),
            last_used_at: iso(row.lastUsedAt),
          })),
        );
      },
    ],
    post: [
      auth,
      async (req, res) => {
        const body = parseBody(createBody, req.body);
        const principal = principalOf(req);
        creations.take(String(principal.userId));
        const { token, row } = await createPat(
          context(),
          principal,
          { name: body.name, expiresInDays: body.expires_in_days, role: body.role },
          req.ip,
        );
        noStore(res)
          .status(201)
          .json({
            token,
            id: row.id,
            name: row.name,
            role: row.role,
            created_at: iso(row.createdAt),
            expires_at: iso(row.expiresAt),
          });
      },
    ],
  });

  // Before /api/token/:id, which would take "events" for an id.
  tokenEventsRoute(router, context);

  route(router, '/api/token/:id', {
    delete: [
      auth,
      async (req, res) => {
        await deletePat(context(), principalOf(req), idParam(req.params.id), req.ip);
        res.status(204).end();
      },
    ],
  });

  return router;
}
