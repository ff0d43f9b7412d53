/** Login and logout: the browser session and its cookies. HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Context } from '../context';
import { route } from '../http/routing';
import { parseBody, text } from '../http/validate';
import { clearSessionCookies, loggedIn, secureCookies, sendSession } from './cookies';
import { login, logout } from './sessions.service';
import type { LoginThrottle } from './throttle';

const loginBody = z.object({
  email: text(254),
  password: z
    .string({ error: (issue) => (issue.input === undefined ? 'This field is required.' : 'Not a valid string.') })
    .min(1, 'This field may not be blank.')
    .max(1024),
});

const TAGS = ['Login and sessions'];

export function sessionsRouter(context: () => Context, throttle: LoginThrottle): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(
    router,
    '/api/auth/login',
    {
      post: async (req, res) => {
        const body = parseBody(loginBody, req.body);
        const ctx = context();
        sendSession(res, await login(ctx, throttle, body, req.ip ?? 'unknown'), ctx.config.issuer, 200);
      },
    },
    {
      api: {
        post: {
          summary: 'Log in with email and password',
          description:
            'Starts a browser session (cookies `latchkey_session` and `csrftoken`) in the user’s active organization, and answers a login access token.',
          tags: TAGS,
          access: 'public',
          body: loginBody,
          responses: {
            200: {
              description: 'Logged in.',
              schema: loggedIn,
              headers: { 'Set-Cookie': 'The session cookie (HttpOnly) and the CSRF cookie.' },
            },
          },
          errors: ['invalid_credentials', 'permission_denied', 'rate_limited'],
        },
      },
    },
  );

  route(
    router,
    '/api/auth/logout',
    {
      post: [
        auth,
        async (req, res) => {
          await logout(context(), principalOf(req), req.ip);
          clearSessionCookies(res, secureCookies(context().config.issuer));
          res.status(204).end();
        },
      ],
    },
    {
      api: {
        post: {
          summary: 'Log out',
          description: 'Ends the caller’s session (and the login access tokens bound to it) and clears its cookies.',
          tags: TAGS,
          access: 'authenticated',
          responses: { 204: { description: 'Logged out.' } },
        },
      },
    },
  );

  return router;
}
