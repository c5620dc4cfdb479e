// Lint: type-aware rules everywhere, and a hard wall around src/workflows, which runs in
// Temporal's deterministic sandbox and must never touch Node built-ins or I/O libraries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ioLibraries = [
  'mysql2',
  'mysql2/*',
  'execa',
  'undici',
  '@aws-sdk/*',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  'eventsource',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.dbferry/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: no Node built-ins.' })),
          patterns: [
            { group: ioLibraries, message: 'Workflows are deterministic: I/O belongs in activities.' },
            {
              group: ['zod', 'zod/*'],
              message: 'Workflows stay small and deterministic: parse with zod at the edge (API, config), not in the bundle.',
            },
            { group: ['**/activities/**', '**/activities'], allowTypeImports: true, message: 'Import activities as types only.' },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
