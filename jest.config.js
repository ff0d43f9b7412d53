/**
 * Three tiers, one jest project each (see tests/support/tiers.js for which file is where):
 * `unit` needs no database and no build (`npm run test:unit`); `integration` and `process`
 * share the migrated template database that global setup makes once per run (jest runs a
 * global setup module once, however many projects name it, and only if one of them has tests
 * to run). `npm test` builds, then runs all three.
 */
const { PROCESS, UNIT } = require('./tests/support/tiers');

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** testMatch globs for folders (ending in /) and files of tests/support/tiers.js. */
const globs = (entries) => entries.map((entry) => `<rootDir>/${entry.endsWith('/') ? `${entry}**/*.test.ts` : entry}`);
/** The same, as testPathIgnorePatterns (regular expressions). */
const patterns = (entries) => entries.map((entry) => `^<rootDir>/${escape(entry)}${entry.endsWith('/') ? '' : '$'}`);

/** @type {import('jest').Config} */
const shared = {
  rootDir: __dirname,
  roots: ['<rootDir>/tests'],
  transform: {
    '^.+\\.[tj]s$': [
      'ts-jest',
      { tsconfig: { isolatedModules: true, allowJs: true, module: 'commonjs', moduleResolution: 'node10' } },
    ],
  },
  // Emit CommonJS in tests so dynamic import() (Prisma loads its query compiler that way)
  // becomes require(): jest's sandbox runs import() only under --experimental-vm-modules.
  // jose and oauth4webapi are ESM-only, so they are transformed too.
  transformIgnorePatterns: ['/node_modules/(?!(jose|oauth4webapi)/)'],
};

/** @type {import('jest').Config} */
const withDatabase = {
  ...shared,
  // jest's node environment, which also stops any child process a test file left running
  // (process tests spawn servers; without a Postgres server every test file spawns a PGlite).
  testEnvironment: '<rootDir>/tests/support/environment.ts',
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testEnvironment: 'node', testMatch: globs(UNIT) },
    {
      ...withDatabase,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...patterns([...UNIT, ...PROCESS])],
    },
    { ...withDatabase, displayName: 'process', testMatch: globs(PROCESS) },
  ],
  // The slow tier first, so that no long process test starts last (see the sequencer).
  testSequencer: '<rootDir>/tests/support/sequencer.js',
  // Here, not in the projects: jest-circus reads the timeout from the global config only.
  testTimeout: 30_000,
  maxWorkers: 2,
};
