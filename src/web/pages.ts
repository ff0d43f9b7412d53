/**
 * The web app's pages: the server answers each path with the app's index.html
 * (src/web/web.routes.ts), and the app's router (web/src/app.tsx) draws each one. One list for
 * both, so a page cannot exist on one side only. No imports: the browser bundle includes it.
 */
export const PAGES = [
  '/',
  '/login',
  '/account',
  '/organization/settings',
  '/organization/api-keys',
  '/organization/members',
  '/organization/audit',
] as const;

export type Page = (typeof PAGES)[number];
