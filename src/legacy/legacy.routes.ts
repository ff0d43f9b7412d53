/** The current user's legacy token (Label Studio's endpoints). HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireAuth } from '../auth/authenticate';
import type { Context } from '../context';
import { noStore, timestamp } from '../http/responses';
import { route } from '../http/routing';
import { describeLegacy, resetLegacy } from './legacy.service';

const TAGS = ['Legacy tokens'];

const described = z.object({
  detail: z.string(),
  hint: z
    .string()
    .nullable()
    .meta({ description: 'The last characters of the live token, or null when there is none.' }),
  created_at: timestamp.nullable(),
});
const created = z.object({
  token: z.string().meta({ description: 'The new legacy token, shown once; send it as `Authorization: Token <key>`.' }),
});

export function legacyRouter(context: () => Context): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(
    router,
    '/api/current-user/token',
    {
      get: [
        auth,
        async (req, res) =>
          void res.json((await describeLegacy(context(), principalOf(req))) satisfies z.output<typeof described>),
      ],
    },
    {
      api: {
        get: {
          summary: 'Describe the caller’s legacy token',
          description: 'Never the token itself, which is shown only when created.',
          tags: TAGS,
          access: 'authenticated',
          responses: { 200: { description: 'Whether one is live, and its hint.', schema: described } },
        },
      },
    },
  );

  route(
    router,
    '/api/current-user/reset-token',
    {
      post: [
        auth,
        async (req, res) =>
          void noStore(res)
            .status(201)
            .json({ token: await resetLegacy(context(), principalOf(req), req.ip) } satisfies z.output<typeof created>),
      ],
    },
    {
      api: {
        post: {
          summary: 'Make a new legacy token',
          description: 'Revokes the caller’s previous one at once.',
          tags: TAGS,
          access: 'authenticated',
          responses: { 201: { description: 'The new token.', schema: created } },
          errors: ['token_creation_disabled'],
        },
      },
    },
  );

  return router;
}
