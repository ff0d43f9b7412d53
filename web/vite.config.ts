/**
 * The web pages: built into dist/public (beside the server's own build), served by the server
 * at `/` under a strict Content-Security-Policy. Every asset comes from the build: no CDN, no
 * inline script, no inline style.
 */
import { defineConfig } from 'vite';

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
});
