/**
 * The web pages: built into dist/public (beside the server's own build), served by the server
 * at `/` under a strict Content-Security-Policy. Every asset comes from the build: no CDN, no
 * inline script, no inline style.
 *
 * `npm run web:dev` serves them with hot reload and passes the API through to a running
 * Latchkey (LATCHKEY_URL, default http://localhost:8080), so the session cookie is this
 * origin's, as in production.
 */
import { defineConfig } from 'vite';

const latchkey = process.env.LATCHKEY_URL ?? 'http://localhost:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: '../dist/public',
    emptyOutDir: true,
    // Inline nothing: `script-src 'self'` and `style-src 'self'` forbid data: URLs and inline code.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  oxc: { jsx: { runtime: 'automatic' } },
  server: {
    proxy: Object.fromEntries(['/api', '/.well-known', '/oauth'].map((path) => [path, { target: latchkey }])),
  },
});
