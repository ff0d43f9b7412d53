/**
 * Which tier (jest project) a test file belongs to; jest.config.js builds its projects from
 * this, and tests/unit/tiers.test.ts checks every file against it.
 *
 *   unit         pure rules, no database, no global setup: seconds (`npm run test:unit`)
 *   process      runs the built server or CLI (dist/, built by `pretest`) as child processes, or
 *                drives the built web pages (dist/public) in a real browser (tests/web/*, but not
 *                web.routes.test.ts)
 *   integration  everything else: createApp() in-process, against a clone of the template database
 */
'use strict';

const UNIT = ['tests/unit/'];
/** Folders (ending in /) and files whose tests spawn `dist/main.js`, `bin/latchkey.js` or a browser. */
const PROCESS = [
  'tests/cli/',
  'tests/multi/',
  'tests/scale/',
  // Chromium (a browser per file) on the pages `npm run build` put in dist/public: slow, and
  // built. tests/web/ also holds in-process tests of the pages' routes, hence file by file.
  'tests/web/sign-in.test.ts',
  'tests/web/tokens.test.ts',
  'tests/web/organization.test.ts',
  'tests/web/pages.test.ts',
  'tests/auth/nginx.test.ts',
  'tests/server/drain.test.ts',
  'tests/metrics/exporter.test.ts',
  // Mostly in-process, but it also drives `latchkey settings` through the built CLI.
  'tests/orgs/settings.test.ts',
  // Renders the compose file with docker-compose.
  'tests/deploy/',
];

const covers = (entries, file) =>
  entries.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry));

/** The tier of a test file, given relative to the repository root with forward slashes. */
function tierOf(file) {
  if (covers(UNIT, file)) return 'unit';
  return covers(PROCESS, file) ? 'process' : 'integration';
}

module.exports = { UNIT, PROCESS, tierOf };
