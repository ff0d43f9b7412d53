import type { Express } from 'express';

interface RouterLayer {
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly RouterLayer[] };
}

/**
 * What the app serves, read from its routers as `METHOD /path`, sorted: `route()` adds OPTIONS
 * and a catch-all 405 to each path, so those are left out, and a path served for any method
 * (`router.all`) is `ALL /path`. Express 5 exposes the router as `app.router`.
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
  return served.sort();
}
