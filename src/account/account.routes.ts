/** The current user: who they are, and the organization their next login acts in. HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { Context } from '../context';
import { route } from '../http/routing';
import { integer, parseBody } from '../http/validate';
import { switchActiveOrganization } from './account.service';

const activeOrganization = z.object({ active_organization: integer(1, 2 ** 31 - 1) });

export function accountRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  /** `active_organization` is the user's (what the next login acts in); `role` is this request's. */
  const whoami = (principal: Principal, user = principal.user) => ({
    id: principal.userId,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    active_organization: user.activeOrganizationId,
    role: principal.role,
  });

  route(router, '/api/current-user/whoami', {
    get: [auth, (req, res) => void res.json(whoami(principalOf(req)))],
  });

  route(router, '/api/current-user', {
    patch: [
      auth,
      async (req, res) => {
        const principal = principalOf(req);
        const { active_organization } = parseBody(activeOrganization, req.body);
        await switchActiveOrganization(context(), principal, active_organization, req.ip);
        res.json(whoami(principal, (await context().state.user(principal.userId)) ?? principal.user));
      },
    ],
  });

  return router;
}
