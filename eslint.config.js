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
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
      // Type information for the type-aware rules (no-floating-promises and the like): every
      // TypeScript file is in tsconfig.json's project, but for the README snippets' globals
      // (kept out of it so they do not leak into lib and test).
      parserOptions: {
        projectService: { allowDefaultProject: ['tools/readme-snippets.d.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // `interface X extends Y {}` is how a module augmentation or a class adds Y's members.
      '@typescript-eslint/no-empty-object-type': [
        'error',
        { allowInterfaces: 'with-single-extends' },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // publish() and respond() return undefined, or above the outbound buffer's high-water
          // mark a promise that only resolves (it never rejects): awaiting it is the opt-in
          // backpressure of the public API, and a plain call is the intended fire-and-forget.
          allowForKnownSafeCalls: [
            { from: 'file', name: 'publish', path: 'lib/core/connection.ts' },
            { from: 'file', name: 'respond', path: 'lib/core/messages/msg.ts' },
            { from: 'file', name: 'respond', path: 'lib/jetstream/jsmsg.ts' },
            {
              from: 'file',
              name: ['respond', 'respondError'],
              path: 'lib/services/service-msg.ts',
            },
          ],
        },
      ],
      // Passing on a caught value (typed `unknown`) is a rethrow, as only-throw-error allows.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Plain JavaScript (tools, jest and eslint configs) is in no tsconfig project: no type-aware rules.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
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
  {
    // Type-aware rules that misfire on test code (lib/ keeps them all):
    files: ['test/**/*.ts'],
    rules: {
      // jest callbacks and async-iterable fixtures (`async function*` that only yields) are async
      // for their callers' sake, with or without an await of their own.
      '@typescript-eslint/require-await': 'off',
      // Tests take methods off objects to save and restore them (process.emitWarning) or to
      // destructure a module (`const { join } = await import('node:path')`).
      '@typescript-eslint/unbound-method': 'off',
      // @types/jest types the asymmetric matchers (expect.any(), expect.stringMatching(),
      // expect.objectContaining()) as `any`, which this rule reports inside every expected
      // object; any other `any` a test uses is still caught where it is used (no-unsafe-call,
      // -member-access, -argument and -return stay on).
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
