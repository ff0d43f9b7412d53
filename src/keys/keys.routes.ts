/** Discovery for resource servers: the JWK Set and RFC 8414 metadata. */
import { Router } from 'express';
import type { Context } from '../context';
import { route } from '../http/routing';

/** Long enough to spare us, short enough that a rotated-in key is picked up soon; jose refetches on an unknown kid anyway. */
const JWKS_MAX_AGE_SECONDS = 300;

export function wellKnownRouter(context: () => Context, issuer: string): Router {
  const router = Router();

  route(router, '/.well-known/jwks.json', {
    get: (_req, res) => {
      res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      res.type('application/jwk-set+json').send(JSON.stringify(context().keys.jwks()));
    },
  });

  // RFC 8414 §2. PATs are refresh tokens, exchanged at the standard token endpoint (RFC 6749
  // §6) by public clients; there is no authorization endpoint, so no response types. Label
  // Studio's own endpoints (/api/token/refresh, /api/token/blacklist) speak its JSON, not these
  // RFCs, so they are not named here.
  const metadata = JSON.stringify({
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
  });
  route(router, '/.well-known/oauth-authorization-server', {
    get: (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.type('application/json').send(metadata);
    },
  });

  return router;
}
