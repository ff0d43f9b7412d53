/** The current user's legacy token (Label Studio's endpoints). HTTP only. */
import { Router } from 'express';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Context } from '../context';
import { noStore } from '../http/responses';
import { route } from '../http/routing';
import { describeLegacy, resetLegacy } from './legacy.service';

export function legacyRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(router, '/api/current-user/token', {
    get: [auth, async (req, res) => void res.json(await describeLegacy(context(), principalOf(req)))],
  });

  route(router, '/api/current-user/reset-token', {
    post: [
      auth,
      async (req, res) =>
        void noStore(res)
          .status(201)
          .json({ token: await resetLegacy(context(), principalOf(req), req.ip) }),
    ],
  });

  return router;
}
