// Lint: typescript-eslint's recommended rules, plus the type-aware ones that catch promise
// misuse (an unawaited write, an async callback where a sync one is expected, `await` on a
// value that is not a promise). Formatting is Prettier's job, not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/', 'coverage/', 'src/generated/', '**/node_modules/', 'prisma.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // web/ is type-checked against web/tsconfig.json, which the project service finds on its own.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      'require-await': 'off',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Only stores query the database: everything else holds an opaque Db (src/db/handle.ts).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.store.ts', 'src/db/**', 'src/audit/changes.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/db/handle'],
              importNames: ['prismaOf', 'handleOf', 'transaction'],
              message: 'Only *.store.ts files open a Db; write through ctx.change().',
            },
            {
              group: ['**/generated/prisma/*'],
              allowTypeImports: true,
              message: 'Only *.store.ts files use the Prisma client; types are fine.',
            },
          ],
        },
      ],
    },
  },
  {
    // The web pages run in the browser.
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
