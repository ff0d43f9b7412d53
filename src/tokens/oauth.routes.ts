/**
 * The standard OAuth 2.0 endpoints that the RFC 8414 metadata advertises, beside Label Studio's
 * own (`/api/token/refresh`, `/api/token/blacklist`), which they leave as they are. HTTP only:
 * the rules are the refresh and revocation of tokens.service.
 *
 *   POST /oauth/token   RFC 6749 §6 refresh grant, a PAT as the refresh token → §5.1 / §5.2
 *   POST /oauth/revoke  RFC 7009: a PAT revokes itself; 200 for anything that revokes nothing
 *
 * Both take forms only, and answer errors in RFC 6749 §5.2's shape (`errors.ts`,
 * `sendError`), which they ask for before reading their body. Clients are public (auth method
 * `none`): a `client_id`, if sent, is accepted and not checked (see PAT_CLIENT_ID); an attempt
 * to authenticate a client is refused with `invalid_client`.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Context } from '../context';
import { AppError, fail } from '../errors';
import { formBody } from '../http/body';
import { noStore } from '../http/responses';
import { route } from '../http/routing';
import { refresh, revokeToken } from './tokens.service';
import { noteAuthentication } from '../auth/authenticate';

const FORM = 'application/x-www-form-urlencoded';

/** Every error of these routes, the 405 and a body the parser refuses included, is RFC 6749's. */
function oauthErrors(req: Request, _res: Response, next: NextFunction): void {
  req.errorFormat = 'oauth';
  next();
}

/** RFC 6749 §3.2 / RFC 7009 §2.1: the parameters come as a form, and only as a form. */
function requireForm(req: Request): void {
  if (req.is(FORM) === false) throw fail('invalid_request', { detail: `The request body must be ${FORM}.` });
}

/**
 * A parameter's value, or undefined when absent or empty (RFC 6749 §3.1: "sent without a value
 * MUST be treated as if they were omitted"). A repeated one is refused (§3.1: "MUST NOT be
 * included more than once"). The form parser gives a repeated name an array.
 */
function param(req: Request, name: string): string | undefined {
  const body: unknown = req.body;
  const value: unknown =
    typeof body === 'object' && body !== null && Object.hasOwn(body, name)
      ? (body as Record<string, unknown>)[name]
      : undefined;
  if (Array.isArray(value)) throw fail('invalid_request', { detail: `The ${name} parameter is repeated.` });
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function required(req: Request, name: string): string {
  const value = param(req, name);
  if (value === undefined) throw fail('invalid_request', { detail: `The ${name} parameter is missing.` });
  return value;
}

/**
 * Client authentication (RFC 6749 §2.3): none is supported, so any attempt fails rather than
 * pass unchecked: HTTP Basic, a client_secret, or a client assertion (RFC 7523). A `client_id`
 * alone identifies a public client and is accepted, once (§3.1).
 */
function authenticateClient(req: Request): void {
  param(req, 'client_id');
  const attempted =
    /^basic(\s|$)/i.test(req.get('authorization') ?? '') ||
    ['client_secret', 'client_assertion', 'client_assertion_type'].some((name) => param(req, name) !== undefined);
  if (attempted) throw fail('invalid_client');
}

/** The refresh token's own refusals (checkPat's 401s: expired, revoked, not a PAT...) are `invalid_grant` (§5.2). */
function asInvalidGrant(err: unknown): never {
  if (err instanceof AppError && err.status === 401) throw fail('invalid_grant', { detail: err.detail, cause: err });
  throw err;
}

const TAGS = ['Standard OAuth 2.0'];

/**
 * The parameters the two endpoints read, for the OpenAPI document. They are read one by one
 * (`param`, `required`), not parsed with these: RFC 6749 gives each absence or error its own
 * answer (§3.1: an empty value is an absent one, a repeated one is refused).
 */
const clientParams = {
  client_id: z.string().optional().meta({ description: 'A public client’s id: accepted, not checked.' }),
};
const tokenRequest = z.object({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().meta({ description: 'A personal access token.' }),
  scope: z.string().optional().meta({ description: 'Never granted: Latchkey has no scopes (`invalid_scope`).' }),
  ...clientParams,
});
const revocationRequest = z.object({
  token: z.string().meta({ description: 'A personal access token, or anything: an unknown token revokes nothing.' }),
  token_type_hint: z.string().optional(),
  ...clientParams,
});
/** RFC 6749 §5.1. */
const tokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.int().min(1),
});

export function oauthRouter(context: () => Context): Router {
  const router = Router();

  route(
    router,
    '/oauth/token',
    {
      post: [
        formBody,
        async (req, res) => {
          requireForm(req);
          authenticateClient(req);
          const grantType = required(req, 'grant_type');
          if (grantType !== 'refresh_token') throw fail('unsupported_grant_type');
          const refreshToken = required(req, 'refresh_token');
          // No scopes exist: §6 forbids asking for any the grant did not have.
          if (param(req, 'scope') !== undefined) throw fail('invalid_scope');
          const issued = await noteAuthentication(req, 'pat', refresh(context(), refreshToken, req.ip)).catch(
            asInvalidGrant,
          );
          // §5.1. The PAT is not rotated, so no refresh_token: the client keeps the one it has.
          noStore(res).json({
            access_token: issued.token,
            token_type: 'Bearer',
            expires_in: issued.expiresIn,
          } satisfies z.output<typeof tokenAnswer>);
        },
      ],
    },
    {
      before: oauthErrors,
      api: {
        post: {
          summary: 'Token endpoint: the refresh grant (RFC 6749 §6), a PAT as the refresh token',
          description:
            'Public clients only (auth method `none`). The PAT is not rotated: no `refresh_token` in the answer.',
          tags: TAGS,
          access: 'public',
          body: tokenRequest,
          bodyTypes: [FORM],
          errorFormat: 'oauth',
          responses: { 200: { description: 'RFC 6749 §5.1.', schema: tokenAnswer } },
          errors: ['invalid_request', 'invalid_client', 'invalid_grant', 'unsupported_grant_type', 'invalid_scope'],
        },
      },
    },
  );

  route(
    router,
    '/oauth/revoke',
    {
      post: [
        formBody,
        async (req, res) => {
          requireForm(req);
          authenticateClient(req);
          const token = required(req, 'token');
          // §2.1: a hint only; each token says what it is, so it is read (once) and not needed.
          param(req, 'token_type_hint');
          await revokeToken(context(), token, req.ip);
          res.status(200).end();
        },
      ],
    },
    {
      before: oauthErrors,
      api: {
        post: {
          summary: 'Revocation endpoint (RFC 7009)',
          description: 'A PAT revokes itself; an unknown or invalid token is 200 as well (§2.2).',
          tags: TAGS,
          access: 'public',
          body: revocationRequest,
          bodyTypes: [FORM],
          errorFormat: 'oauth',
          responses: { 200: { description: 'Revoked, or nothing to revoke; no body.' } },
          errors: ['invalid_request', 'invalid_client', 'unsupported_token_type'],
        },
      },
    },
  );

  return router;
}
