/**
 * The web pages (web/, built by Vite into dist/public): the same single-page app answers at
 * each page's path, its hashed assets under `/assets/`. Neither is part of the API, so neither
 * is in the OpenAPI document; any other path stays the API's JSON 404.
 *
 * The pages run under a policy of their own instead of the JSON API's `default-src 'none'`:
 * scripts, styles, images and requests from this origin only, no inline code (the build emits
 * none), no plugins, no `<base>`, forms posting only here, and never framed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { fail } from '../errors';
import { PAGES } from './pages';

/** The app's pages (src/web/pages.ts, which web/src/app.tsx draws from too). */
export { PAGES } from './pages';

export const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed file names: a file's content never changes under its name. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3_600_000;

/** Where `npm run build` puts the pages: dist/public, from src/web and dist/web alike. */
export const PUBLIC_DIR = path.join(__dirname, '../../dist/public');

export function webRouter(directory: string = PUBLIC_DIR): Router {
  const router = Router();
  const index = path.join(directory, 'index.html');

  const page = (_req: Request, res: Response, next: NextFunction) => {
    if (!existsSync(index)) {
      next(fail('not_found', { detail: 'The web pages are not built: run `npm run build`.' }));
      return;
    }
    res.setHeader('Content-Security-Policy', PAGE_POLICY);
    // Always revalidated: a new build's page names new assets.
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, (err?: Error) => {
      // A client that went away mid-answer is not an error of ours.
      if (err && !res.headersSent && (err as NodeJS.ErrnoException).code !== 'ECONNABORTED') next(err);
    });
  };
  // Express matches `/login/` too (routing is not strict).
  for (const pagePath of PAGES) router.get(pagePath, page);

  router.use(
    '/assets',
    express.static(path.join(directory, 'assets'), {
      index: false,
      redirect: false,
      fallthrough: true,
      immutable: true,
      maxAge: ASSET_MAX_AGE_MS,
      setHeaders: (res) => res.setHeader('Content-Security-Policy', PAGE_POLICY),
    }),
  );
  return router;
}
