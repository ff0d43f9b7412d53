/**
 * `/api/auth/verify`: forward authentication for nginx `auth_request` and Traefik
 * ForwardAuth. 200 with the caller's identity in `X-Auth-*` headers, or the same 401 (with
 * its challenge) any protected route would answer. Any method: proxies forward the original.
 */
import { Router } from 'express';
import type { Context } from '../context';
import { noStore } from '../http/responses';
import { describe } from '../http/routing';
import { principalOf, requireAuth } from './authenticate';

export function forwardAuthRouter(context: () => Context): Router {
  const router = Router();
  router.all('/api/auth/verify', requireAuth(context), (req, res) => {
    const principal = principalOf(req);
    noStore(res)
      .set({
        'X-Auth-User-Id': String(principal.userId),
        'X-Auth-Org-Id': String(principal.organizationId),
        'X-Auth-Role': principal.role,
      })
      .status(200)
      .end();
  });
  describe(router, '/api/auth/verify', {
    all: {
      summary: 'Forward authentication (nginx auth_request, Traefik ForwardAuth)',
      description:
        'Any method (proxies forward the original one). 200 with the caller’s identity in headers and no body, or the 401 any protected route answers, with its challenge.',
      tags: ['Login and sessions'],
      access: 'authenticated',
      responses: {
        200: {
          description: 'Authenticated; no body.',
          headers: {
            'X-Auth-User-Id': 'The caller’s user id.',
            'X-Auth-Org-Id': 'The organization the credential acts in.',
            'X-Auth-Role': 'The role the request acts with.',
          },
        },
      },
    },
  });
  return router;
}
