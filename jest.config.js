// Jest runs the TypeScript sources as native ES modules (NestJS 12 is ESM-only), transpiled by
// swc; type checking is `npm run typecheck`'s job.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // Finds (or gets) the nats-server and pins it for every worker; NATS_SERVER_VERSION picks one.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  reporters: ['default', '<rootDir>/test/support/skip-reporter.mjs'],
  testTimeout: 30000,
  maxWorkers: 2,
};
