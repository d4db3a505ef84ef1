// CommonJS apps (most NestJS 11 apps) load the package with require(), which Node >= 20.19
// supports for ES modules. Run after the build:
//   node tools/check-cjs.cjs           every entry point resolves and loads through require()
//   node tools/check-cjs.cjs --nest11  test/compat/cjs/main.cjs, a CommonJS NestJS 11 app, runs
//                                      against a copy of the package beside the NestJS 11
//                                      packages of test/compat/nest11 (npm run test:nest11
//                                      installs them)
'use strict';

const { cpSync, existsSync, mkdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');

function checkEntryPoints() {
  const expected = {
    'nestjs-nats': ['connect', 'ServerNats', 'ClientNats', 'NatsModule', 'JetStreamHandler'],
    'nestjs-nats/core': ['connect', 'MsgHeaders', 'NatsError'],
    'nestjs-nats/jetstream': ['jetstream'],
    'nestjs-nats/kv': ['KvBucket', 'BucketNotFoundError'],
    'nestjs-nats/obj': ['ObjectStore', 'ObjectNotFoundError'],
    'nestjs-nats/services': [],
    'nestjs-nats/health': ['NatsHealthIndicator'],
  };
  let ok = true;
  for (const [entry, names] of Object.entries(expected)) {
    try {
      const mod = require(entry);
      const missing = names.filter((n) => typeof mod[n] !== 'function');
      if (missing.length) throw new Error(`missing exports: ${missing.join(', ')}`);
      console.log(`require('${entry}') ok`);
    } catch (err) {
      ok = false;
      console.error(`require('${entry}') failed: ${err.message}`);
    }
  }
  return ok;
}

function runNest11App() {
  const compat = join(root, 'test/compat/nest11');
  if (!existsSync(join(compat, 'node_modules/@nestjs/core'))) {
    console.error('NestJS 11 is not installed: run `npm run test:nest11` first');
    return false;
  }
  // Inside test/compat/nest11, so that the app and the package both resolve NestJS 11 there.
  const app = join(compat, '.cjs-app');
  const pkg = join(app, 'node_modules/nestjs-nats');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(root, 'test/compat/cjs/main.cjs'), join(app, 'main.cjs'));
  const r = spawnSync(process.execPath, [join(app, 'main.cjs')], { stdio: 'inherit' });
  rmSync(app, { recursive: true, force: true });
  return r.status === 0;
}

const ok = process.argv.includes('--nest11') ? runNest11App() : checkEntryPoints();
process.exit(ok ? 0 : 1);
