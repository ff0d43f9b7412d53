/**
 * The API's description, served: the OpenAPI 3.1 document at `/api/openapi.json`, and an
 * interactive reference at `/api/docs`, Swagger UI from the installed `swagger-ui-dist` package
 * (no CDN). No authentication: the document describes the API, it grants nothing.
 *
 * The page loads only same-origin files (the bundle, its stylesheet, and our initializer, not
 * an inline script), under a policy of its own instead of the JSON API's `default-src 'none'`:
 * scripts and styles from this origin only (Swagger UI's own bundle injects no `<style>`; the
 * standalone preset, which does, for its top bar's logo, is left out), images from this origin
 * and `data:` (the stylesheet's icons), requests to this origin and to the issuer (the document
 * and "Try it out").
 */
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { jsonText } from '../http/responses';
import { route } from '../http/routing';

const TAGS = ['API description'];
/** Short: a new build's document is picked up soon, and clients still do not refetch it on every call. */
const DOCUMENT_MAX_AGE_SECONDS = 300;
/** Swagger UI's files change only with the package. */
const ASSET_MAX_AGE_MS = 3_600_000;

/** Where the page finds its files; `/api/docs` and `/api/docs/` are the same page, so paths are absolute. */
const ASSETS = '/api/docs';
const INITIALIZER = 'latchkey-docs.js';
/** The files of the package the page uses, and nothing else of it (not its demo index.html). */
const PACKAGE_FILES = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png']);

const initializer = `'use strict';
window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  layout: 'BaseLayout',
});
`;

const page = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Latchkey API</title>
    <link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${ASSETS}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS}/${INITIALIZER}"></script>
  </body>
</html>
`;

/** The page's Content-Security-Policy: see the module's comment. */
export function docsPolicy(issuer: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${new URL(issuer).origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface DocsOptions {
  /** The OpenAPI document (built once, on first use: it describes this router too). */
  readonly document: () => object;
  readonly issuer: string;
}

export function docsRouter({ document, issuer }: DocsOptions): Router {
  const router = Router();
  const policy = docsPolicy(issuer);
  let json: string | undefined;

  route(
    router,
    '/api/openapi.json',
    {
      get: (_req, res) => {
        json ??= jsonText(document());
        res.setHeader('Cache-Control', `public, max-age=${DOCUMENT_MAX_AGE_SECONDS}`);
        res.type('application/json').send(json);
      },
    },
    {
      api: {
        get: {
          summary: 'This document: the API in OpenAPI 3.1',
          tags: TAGS,
          access: 'public',
          offline: true,
          responses: {
            200: {
              description: 'The OpenAPI document, built from the schemas that validate the requests.',
              schema: z.looseObject({ openapi: z.string(), info: z.object({}).loose(), paths: z.object({}).loose() }),
            },
          },
        },
      },
    },
  );

  route(
    router,
    '/api/docs',
    {
      get: (_req, res) => {
        res.setHeader('Content-Security-Policy', policy);
        res.setHeader('Cache-Control', `public, max-age=${DOCUMENT_MAX_AGE_SECONDS}`);
        res.type('html').send(page);
      },
    },
    {
      api: {
        get: {
          summary: 'The interactive API reference (Swagger UI)',
          description: `An HTML page; its scripts and styles are same-origin files under ${ASSETS}/.`,
          tags: TAGS,
          access: 'public',
          offline: true,
          responses: { 200: { description: 'The page.', schema: z.string(), contentType: 'text/html' } },
        },
      },
    },
  );

  // The page's files: not routes (they are the package's files, not the API), so they are
  // neither in the document nor answer 405; anything else under /api/docs/ is a JSON 404.
  const packageFiles = express.static(path.dirname(require.resolve('swagger-ui-dist/package.json')), {
    index: false,
    redirect: false,
    maxAge: ASSET_MAX_AGE_MS,
  });
  router.use(ASSETS, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const name = req.path.slice(1);
    if (name === INITIALIZER) {
      res.setHeader('Cache-Control', `public, max-age=${ASSET_MAX_AGE_MS / 1000}`);
      res.type('text/javascript').send(initializer);
      return;
    }
    if (PACKAGE_FILES.has(name)) return packageFiles(req, res, next);
    next();
  });

  return router;
}
