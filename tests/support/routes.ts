import type { Express } from 'express';
import { PAGES } from '../../src/web/web.routes';

interface RouterLayer {
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly RouterLayer[] };
}

/** The web pages' routes: not part of the API (tests/web/web.routes.test.ts covers them). */
const PAGE_ROUTES = new Set<string>(PAGES.map((page) => `GET ${page}`));

/**
 * The API the app serves, read from its routers as `METHOD /path`, sorted: `route()` adds
 * OPTIONS and a catch-all 405 to each path, so those are left out, and a path served for any
 * method (`router.all`) is `ALL /path`; the web pages are left out too. Express 5 exposes the
 * router as `app.router`.
 */
export function servedRoutes(app: Express): string[] {
  const served: string[] = [];
  const walk = (stack: readonly RouterLayer[]) => {
    for (const layer of stack) {
      if (layer.handle?.stack) walk(layer.handle.stack);
      if (!layer.route) continue;
      const declared = Object.keys(layer.route.methods).filter((m) => m !== 'options' && m !== '_all');
      for (const method of declared.length ? declared : ['all'])
        served.push(`${method.toUpperCase()} ${layer.route.path}`);
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
  return served.filter((route) => !PAGE_ROUTES.has(route)).sort();
}
