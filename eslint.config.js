import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './tools/eslint-layers.js';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.bench-tmp/**',
      '.scratch/**',
      'docs/api/**',
      '**/.readme-check/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // CommonJS scripts (the require() check of the built package).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', __dirname: 'readonly', setTimeout: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The core, JetStream, KV, object store and services layers must stay framework-free.
    files: [
      'lib/core/**/*.ts',
      'lib/jetstream/**/*.ts',
      'lib/kv/**/*.ts',
      'lib/obj/**/*.ts',
      'lib/services/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', 'rxjs', 'rxjs/*', 'reflect-metadata'],
              message: 'The core layers must not depend on NestJS or rxjs.',
            },
            {
              group: ['**/nest/**', '../nest', '../../nest'],
              message: 'Lower layers must not import the nest layer.',
            },
          ],
        },
      ],
    },
  },
  {
    // Layers import each other downwards only, and only through their internal.ts barrels.
    files: ['lib/**/*.ts'],
    plugins: { layers },
    rules: { 'layers/imports': 'error' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'sample/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
