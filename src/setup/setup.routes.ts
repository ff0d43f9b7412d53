/** First run: `GET` and `POST /api/setup`, public. HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import type { Context } from '../context';
import { noStore } from '../http/responses';
import { route } from '../http/routing';
import { parseBody, text } from '../http/validate';
import { loggedIn, sendSession } from '../sessions/cookies';
import { emailField, nameField, newPasswordField } from '../users/user-fields';
import { firstOwnerNeeded, setUp } from './setup.service';

const setupBody = z.object({
  setup_code: text(100).meta({
    description: 'Logged by the server at start-up while no user exists (the `#setup=` of the link it logs).',
  }),
  email: emailField(),
  password: newPasswordField(),
  first_name: nameField().optional(),
  last_name: nameField().optional(),
  organization: text(200).optional(),
});

const setupState = z.object({
  first_owner_needed: z.boolean().meta({ description: 'True only while the server has no user at all.' }),
});

const TAGS = ['Login and sessions'];

export function setupRouter(context: () => Context): Router {
  const router = Router();

  route(
    router,
    '/api/setup',
    {
      get: async (_req, res) => {
        const needed = await firstOwnerNeeded(context().db);
        noStore(res).json({ first_owner_needed: needed } satisfies z.output<typeof setupState>);
      },
      post: async (req, res) => {
        const body = parseBody(setupBody, req.body);
        const ctx = context();
        const session = await setUp(
          ctx,
          {
            setupCode: body.setup_code,
            email: body.email,
            password: body.password,
            firstName: body.first_name,
            lastName: body.last_name,
            organization: body.organization ?? ctx.config.firstOrganization,
          },
          req.ip,
        );
        sendSession(res, session, ctx.config.issuer, 201);
      },
    },
    {
      api: {
        get: {
          summary: 'Whether the server still needs its first owner',
          description: 'The sign-in page asks this to offer first-run setup.',
          tags: TAGS,
          access: 'public',
          responses: { 200: { description: 'First run or not.', schema: setupState } },
        },
        post: {
          summary: 'Create the first owner (first run)',
          description:
            'Only while no user exists, with the setup code the server logged at start-up: creates the owner and their organization (default title `LATCHKEY_ADMIN_ORG`, “My organization”), and signs them in as `POST /api/auth/login` does (its cookies and `{"access"}`). Of concurrent calls, one succeeds; the others, and every call once a user exists, are 409 `already_set_up`.',
          tags: TAGS,
          access: 'public',
          body: setupBody,
          responses: {
            201: {
              description: 'The first owner, signed in.',
              schema: loggedIn,
              headers: { 'Set-Cookie': 'The session cookie (HttpOnly) and the CSRF cookie.' },
            },
          },
          errors: ['already_set_up', 'permission_denied'],
        },
      },
    },
  );

  return router;
}
