import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildPackageApp, type BuiltPackageApp, type RunResult } from '../support/built-package.js';

// The package built from lib/ into a folder of its own, as an app that installed nestjs-nats
// and none of its optional NestJS peers has it: node_modules/nestjs-nats and nothing else.
const FRAMEWORK_FREE = [
  'nestjs-nats/core',
  'nestjs-nats/jetstream',
  'nestjs-nats/kv',
  'nestjs-nats/obj',
  'nestjs-nats/services',
];

let app: BuiltPackageApp | undefined;

beforeAll(() => {
  app = buildPackageApp('nestjs-nats-no-nest-');
}, 120_000);

afterAll(() => app?.remove());

/** Runs `code` as an ES module (or CommonJS) inside the app; resolves its exit and output. */
function runInApp(code: string, type: 'module' | 'commonjs' = 'module'): RunResult {
  return app!.run(code, type);
}

describe('entry points without NestJS installed', () => {
  it('has no NestJS package, rxjs or reflect-metadata within reach of the app', () => {
    const require = createRequire(join(app!.dir, 'main.js'));
    for (const peer of ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'rxjs']) {
      expect(() => require.resolve(peer)).toThrow(/Cannot find module/);
    }
    expect(() => require.resolve('reflect-metadata')).toThrow(/Cannot find module/);
  });

  it.each(FRAMEWORK_FREE)('loads %s with import()', (entry) => {
    const r = runInApp(`const m = await import('${entry}'); console.log(Object.keys(m).length);`);
    expect(r).toEqual({ status: 0, output: expect.stringMatching(/^[1-9]\d*\n$/) });
  });

  it.each(FRAMEWORK_FREE)('loads %s with require()', (entry) => {
    const r = runInApp(`console.log(Object.keys(require('${entry}')).length);`, 'commonjs');
    expect(r).toEqual({ status: 0, output: expect.stringMatching(/^[1-9]\d*\n$/) });
  });

  it('adds the KV and object store methods to the JetStream client when /kv and /obj load', () => {
    const r = runInApp(`
      const { JetStreamClient } = await import('nestjs-nats/jetstream');
      const before = typeof JetStreamClient.prototype.createKeyValue;
      await import('nestjs-nats/kv');
      await import('nestjs-nats/obj');
      const p = JetStreamClient.prototype;
      console.log(before, typeof p.createKeyValue, typeof p.createObjectStore);
    `);
    expect(r).toEqual({ status: 0, output: 'undefined function function\n' });
  });

  it.each(['nestjs-nats', 'nestjs-nats/health'])(
    'needs NestJS for %s (so the checks above would see a NestJS import)',
    (entry) => {
      const r = runInApp(`await import('${entry}');`);
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(
        /Cannot find (package|module) '(@nestjs\/[a-z]+|rxjs|reflect-metadata)'/,
      );
    },
  );
});
