/** Discovery for resource servers: the JWK Set and RFC 8414 metadata. */
import { Router } from 'express';
import { z } from 'zod';
import type { Context } from '../context';
import { route } from '../http/routing';

/** Long enough to spare us, short enough that a rotated-in key is picked up soon; jose refetches on an unknown kid anyway. */
const JWKS_MAX_AGE_SECONDS = 300;

const TAGS = ['Discovery'];

/** RFC 7517's JWK Set, of public keys only (RFC 7518's EC, RSA and OKP members). */
const jwkSet = z.object({
  keys: z.array(
    z.looseObject({
      kty: z.string(),
      kid: z.string(),
      alg: z.string(),
      use: z.literal('sig').optional(),
    }),
  ),
});

/** RFC 8414 §2, the members Latchkey sends. */
const metadataSchema = z.object({
  issuer: z.url(),
  jwks_uri: z.url(),
  token_endpoint: z.url(),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
  revocation_endpoint: z.url(),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
  introspection_endpoint: z.url(),
  introspection_endpoint_auth_methods_supported: z.array(z.string()),
});

export function wellKnownRouter(context: () => Context, issuer: string): Router {
  const router = Router();

  route(
    router,
    '/.well-known/jwks.json',
    {
      get: (_req, res) => {
        res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
        res.type('application/jwk-set+json').json(context().keys.jwks());
      },
    },
    {
      api: {
        get: {
          summary: 'The public signing keys (JWK Set)',
          description: 'What a resource server verifies access tokens with. Cacheable for five minutes.',
          tags: TAGS,
          access: 'public',
          responses: {
            200: { description: 'RFC 7517 JWK Set.', schema: jwkSet, contentType: 'application/jwk-set+json' },
          },
        },
      },
    },
  );

  // RFC 8414 §2. PATs are refresh tokens, exchanged at the standard token endpoint (RFC 6749
  // §6) by public clients; there is no authorization endpoint, so no response types. Label
  // Studio's own endpoints (/api/token/refresh, /api/token/blacklist) speak its JSON, not these
  // RFCs, so they are not named here.
  const metadata = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/oauth/token`,
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: ['refresh_token'],
    response_types_supported: [],
    revocation_endpoint: `${issuer}/oauth/revoke`,
    revocation_endpoint_auth_methods_supported: ['none'],
    introspection_endpoint: `${issuer}/api/token/introspect`,
    introspection_endpoint_auth_methods_supported: ['bearer'],
  } satisfies z.output<typeof metadataSchema>;
  route(
    router,
    '/.well-known/oauth-authorization-server',
    {
      get: (_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.json(metadata);
      },
    },
    {
      api: {
        get: {
          summary: 'Authorization server metadata (RFC 8414)',
          tags: TAGS,
          access: 'public',
          offline: true,
          responses: { 200: { description: 'The metadata.', schema: metadataSchema } },
        },
      },
    },
  );

  return router;
}
