/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, which also stops any child process a test file left running.
  testEnvironment: '<rootDir>/tests/support/environment.ts',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': [
      'ts-jest',
      { tsconfig: { isolatedModules: true, allowJs: true, module: 'commonjs', moduleResolution: 'node10' } },
    ],
  },
  // Emit CommonJS in tests so dynamic import() (Prisma loads its query compiler that way)
  // becomes require(): jest's sandbox runs import() only under --experimental-vm-modules.
  // jose is ESM-only, so it is transformed too.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  testTimeout: 30_000,
  maxWorkers: 2,
};
