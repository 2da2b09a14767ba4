// Lint: typescript-eslint (type-unaware, fast) + prettier, with the boundaries of ARCHITECTURE.md.
// Dependency-level arrows (who may import whom, no cycles) are checked by .dependency-cruiser.cjs.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const deepImports = {
  group: ['@closeloop/*/*', '**/libs/*/src/**'],
  message: 'Import another lib through its front door: @closeloop/<lib> (its src/index.ts).',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.closeloop/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': ['error', { patterns: [deepImports] }],
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [deepImports, { group: ['**/apps/**'], message: 'A lib never imports an app.' }],
        },
      ],
    },
  },
  {
    files: ['libs/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepImports,
            { group: ['**/apps/**', '@closeloop/*'], message: 'core imports nothing of ours.' },
            {
              group: ['@nestjs/*', 'typeorm', 'pg', 'ioredis', 'bullmq', 'nodemailer'],
              message: 'core is pure: no framework, no database, no queue.',
            },
            {
              group: ['fs', 'node:fs', 'net', 'node:net', 'http', 'node:http', 'child_process', 'node:child_process'],
              message: 'core does no I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      // Tests reach into app modules (the same bootstrap as main.ts); libs stay behind their index.
      'no-restricted-imports': ['error', { patterns: [deepImports] }],
    },
  },
  prettier,
);
