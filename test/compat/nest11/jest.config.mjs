// `npm run test:nest11`: the e2e specs (real Nest apps, real servers) against NestJS 11, whose
// packages (CommonJS) are installed next to this file, instead of the NestJS 12 devDependencies.
import base from '../../../jest.config.js';

const here = '<rootDir>/test/compat/nest11/node_modules';

export default {
  ...base,
  rootDir: '../../..',
  moduleNameMapper: {
    '^@nestjs/(common|core|microservices|testing|terminus)(/.*)?$': `${here}/@nestjs/$1$2`,
    '^rxjs(/.*)?$': `${here}/rxjs$1`,
    ...base.moduleNameMapper,
  },
  testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'],
};
