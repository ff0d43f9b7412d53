/** Login, logout and the current user. HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import { clearSessionCookies, setSessionCookies } from '../auth/cookies';
import type { LoginThrottle } from '../auth/throttle';
import type { Context } from '../context';
import { noStore } from '../http/responses';
import { route } from '../http/routing';
import { integer, parseBody, text } from '../http/validate';
import { switchActiveOrganization } from '../orgs/orgs.service';
import type { Principal } from '../auth/principal';
import { login, logout } from './login.service';

const loginBody = z.object({
  email: text(254),
  password: z
    .string({ error: (issue) => (issue.input === undefined ? 'This field is required.' : 'Not a valid string.') })
    .min(1, 'This field may not be blank.')
    .max(1024),
});

const activeOrganization = z.object({ active_organization: integer(1, 2 ** 31 - 1) });

export function usersRouter(context: () => Context, throttle: LoginThrottle): Router {
  const router = Router();
  const auth = requireAuth(context);
  const secureCookies = () => context().config.issuer.startsWith('https:');

  route(router, '/api/auth/login', {
    post: async (req, res) => {
      const body = parseBody(loginBody, req.body);
      const session = await login(context(), throttle, body, req.ip ?? 'unknown');
      setSessionCookies(res, { session: session.session, csrf: session.csrf }, session.maxAgeMs, secureCookies());
      noStore(res).json({ access: session.access });
    },
  });

  route(router, '/api/auth/logout', {
    post: [
      auth,
      async (req, res) => {
        await logout(context(), principalOf(req), req.ip);
        clearSessionCookies(res, secureCookies());
        res.status(204).end();
      },
    ],
  });

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
