/** The Label Studio PAT endpoints (contract: "Label Studio-compatible endpoints"). HTTP only. */
import { Router } from 'express';
import { z } from 'zod';
import { authenticate, noteAuthentication, principalOf, requireAuth } from '../auth/authenticate';
import { ROLES } from '../auth/roles';
import type { PerMinuteLimit } from '../rate-limit';
import type { Context } from '../context';
import { iso, noStore, timestamp } from '../http/responses';
import { route } from '../http/routing';
import { choice, idParam, idSegment, integer, parseBody, text } from '../http/validate';
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
  rotateById,
  type IssuedPat,
} from './tokens.service';

/** The PAT (or its listed `header.payload`) under `refresh`, as simplejwt names it. */
const refreshBody = z.object({ refresh: text() });

const introspectBody = z.object({
  token: z.string({ error: 'This field is required.' }),
  token_type_hint: z.string().optional(),
});

/** What a PAT presented in a body may be refused with (checkPat). */
const PAT_REFUSALS = [
  'token_malformed',
  'token_invalid',
  'token_wrong_type',
  'token_expired',
  'token_blacklisted',
  'token_type_disabled',
  'user_not_found',
  'user_inactive',
  'not_a_member',
] as const;

const DEFAULT_NAME = 'Personal access token';

const createBody = z.object({
  name: text(100).default(DEFAULT_NAME),
  expires_in_days: integer(1, 73_000).optional(),
  role: choice(ROLES).optional(),
});

const TAGS = ['Personal access tokens'];

// ---- Answers ----------------------------------------------------------------------------------

const accessAnswer = z.object({
  access: z.string().meta({ description: 'An access token (RFC 9068 JWT): send it as `Authorization: Bearer`.' }),
});
const rotated = z.object({
  refresh: z.string().meta({ description: 'The new personal access token; the one sent is revoked.' }),
});
const patFields = {
  id: z.int(),
  name: z.string(),
  role: z.enum(ROLES),
  created_at: timestamp,
  expires_at: timestamp.nullable(),
};
const createdPat = z.object({
  token: z.string().meta({ description: 'The personal access token (a JWT): shown this once.' }),
  ...patFields,
});
const listedPat = z.object({
  ...patFields,
  token: z
    .string()
    .meta({ description: 'The PAT’s `header.payload` only: it names the PAT (to revoke it), never authenticates.' }),
  last_used_at: timestamp.nullable(),
});
const introspection = z.union([
  z.object({ active: z.literal(false) }).strict(),
  z
    .object({
      active: z.literal(true),
      token_type: z.enum(['access', 'refresh', 'legacy']),
      sub: z.string(),
      user_id: z.string(),
      org_id: z.int(),
      role: z.enum(ROLES),
      iss: z.string(),
      exp: z.int().optional(),
      iat: z.int().optional(),
      jti: z.string().optional(),
      aud: z.string().optional(),
    })
    .strict(),
]);

/** A new PAT as creation and rotation by id answer it (the only time its token is shown). */
const createdAnswer = ({ token, row }: IssuedPat): z.output<typeof createdPat> => ({
  token,
  id: row.id,
  name: row.name,
  role: row.role,
  created_at: iso(row.createdAt),
  expires_at: iso(row.expiresAt),
});

/** `creations` bounds how many PATs one user may mint (create or rotate) a minute. */
export function tokensRouter(context: () => Context, creations: PerMinuteLimit): Router {
  const router = Router();
  const auth = requireAuth(context);

  route(
    router,
    '/api/token/refresh',
    {
      post: async (req, res) => {
        const { refresh: pat } = parseBody(refreshBody, req.body);
        const { token: access } = await noteAuthentication(req, 'pat', refresh(context(), pat, req.ip));
        noStore(res).json({ access } satisfies z.output<typeof accessAnswer>);
      },
    },
    {
      api: {
        post: {
          summary: 'Exchange a personal access token for an access token',
          description: 'Label Studio’s (simplejwt’s) refresh: the PAT is not rotated.',
          tags: TAGS,
          access: 'public',
          body: refreshBody,
          responses: { 200: { description: 'A new access token.', schema: accessAnswer } },
          errors: [...PAT_REFUSALS],
        },
      },
    },
  );

  route(
    router,
    '/api/token/blacklist',
    {
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
    },
    {
      api: {
        post: {
          summary: 'Revoke a personal access token',
          description:
            'The PAT itself (no other credential needed), or its listed `header.payload` from `GET /api/token` with a credential of its owner.',
          tags: TAGS,
          access: 'optional',
          body: refreshBody,
          responses: { 204: { description: 'Revoked (or already revoked).' } },
          errors: ['not_found', ...PAT_REFUSALS],
        },
      },
    },
  );

  // RFC 7662 §2.1: `token` (and an optional `token_type_hint`, which we do not need).
  route(
    router,
    '/api/token/introspect',
    {
      post: [
        auth,
        async (req, res) => {
          const { token } = parseBody(introspectBody, req.body);
          noStore(res).json(
            (await introspect(context(), principalOf(req), token)) satisfies z.output<typeof introspection>,
          );
        },
      ],
    },
    {
      api: {
        post: {
          summary: 'Introspect a token (RFC 7662)',
          description:
            'Any live token of the caller’s organization: an access token, a PAT or a legacy token. Anything else is `{"active": false}`.',
          tags: TAGS,
          access: 'authenticated',
          body: introspectBody,
          responses: { 200: { description: 'What the token may do now.', schema: introspection } },
        },
      },
    },
  );

  route(
    router,
    '/api/token/rotate',
    {
      post: [
        auth,
        async (req, res) => {
          const { refresh: pat } = parseBody(refreshBody, req.body);
          const principal = principalOf(req);
          creations.take(String(principal.userId));
          noStore(res).json({ refresh: await rotate(context(), principal, pat, req.ip) } satisfies z.output<
            typeof rotated
          >);
        },
      ],
    },
    {
      api: {
        post: {
          summary: 'Rotate a personal access token',
          description:
            'A new PAT with the same name, role and lifetime (capped by the organization’s); the old one is revoked, and presenting it again revokes the whole rotation family.',
          tags: TAGS,
          access: 'authenticated',
          body: refreshBody,
          responses: { 200: { description: 'The new PAT.', schema: rotated } },
          errors: [...PAT_REFUSALS, 'token_creation_disabled', 'permission_denied', 'rate_limited'],
        },
      },
    },
  );

  route(
    router,
    '/api/token',
    {
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
            })) satisfies z.output<typeof listedPat>[],
          );
        },
      ],
      post: [
        auth,
        async (req, res) => {
          const body = parseBody(createBody, req.body);
          const principal = principalOf(req);
          creations.take(String(principal.userId));
          const issued = await createPat(
            context(),
            principal,
            { name: body.name, expiresInDays: body.expires_in_days, role: body.role },
            req.ip,
          );
          noStore(res).status(201).json(createdAnswer(issued));
        },
      ],
    },
    {
      api: {
        get: {
          summary: 'List the caller’s personal access tokens',
          description: 'The live PATs of the caller in this organization, newest first; never a usable token.',
          tags: TAGS,
          access: 'authenticated',
          responses: { 200: { description: 'The PATs.', schema: z.array(listedPat) } },
        },
        post: {
          summary: 'Create a personal access token',
          tags: TAGS,
          access: 'authenticated',
          body: createBody,
          responses: { 201: { description: 'The new PAT, shown once.', schema: createdPat } },
          errors: ['token_creation_disabled', 'permission_denied', 'token_limit_reached', 'rate_limited'],
        },
      },
    },
  );

  // Before /api/token/:id, which would take "events" for an id.
  tokenEventsRoute(router, context);

  route(
    router,
    '/api/token/:id',
    {
      delete: [
        auth,
        async (req, res) => {
          await deletePat(context(), principalOf(req), idParam(req.params.id), req.ip);
          res.status(204).end();
        },
      ],
    },
    {
      api: {
        delete: {
          summary: 'Revoke one of the caller’s personal access tokens',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment },
          responses: { 204: { description: 'Revoked.' } },
        },
      },
    },
  );

  route(
    router,
    '/api/token/:id/rotate',
    {
      post: [
        auth,
        async (req, res) => {
          const id = idParam(req.params.id);
          const principal = principalOf(req);
          creations.take(String(principal.userId));
          noStore(res)
            .status(201)
            .json(createdAnswer(await rotateById(context(), principal, id, req.ip)));
        },
      ],
    },
    {
      api: {
        post: {
          summary: 'Rotate a personal access token by its id',
          description:
            'For a page that never holds the PAT: its owner, or an owner or administrator of its organization whose role is at least the owner’s. As `POST /api/token/rotate/`: a new PAT with the same name, role and lifetime (capped by the organization’s), in the same rotation family; the old one is revoked. Answers like creation. An unknown, revoked or expired PAT, or one of another organization, is 404.',
          tags: TAGS,
          access: 'authenticated',
          params: { id: idSegment },
          responses: { 201: { description: 'The new PAT, shown once.', schema: createdPat } },
          errors: ['token_creation_disabled', 'permission_denied', 'rate_limited'],
        },
      },
    },
  );

  return router;
}
