// Every entry point's types resolve for a consumer, whatever its module resolution: packs the
// package, installs the tarball in a temporary project with typescript, @types/node and the
// NestJS 11 peers (versions from test/compat/nest11), and compiles one file that imports from
// every entry point under node10 (`"module": "commonjs"`, the usual Nest 11 app), nodenext
// (CommonJS and ESM files) and bundler resolution.
//   node tools/check-consumer-types.mjs           build into a staging folder, pack, check
//   node tools/check-consumer-types.mjs --keep    keep the temporary project (its path is printed)
// npm installs from its cache when it can (--prefer-offline); the first run needs the registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const CONSUMER = `import { connect, NatsError, TimeoutError, type Msg, type NatsConnection } from 'nestjs-nats/core';
import type { JetStreamClient, PubAck, StreamConfig } from 'nestjs-nats/jetstream';
import { BucketNotFoundError, type KvBucket, type KvEntry } from 'nestjs-nats/kv';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from 'nestjs-nats/obj';
import type { Service, ServiceMsg } from 'nestjs-nats/services';
import { NatsHealthIndicator } from 'nestjs-nats/health';
import { ClientNats, JetStreamHandler, NatsModule, ServerNats, connect as rootConnect } from 'nestjs-nats';

export async function useEveryEntryPoint(): Promise<void> {
  const nc: NatsConnection = await connect({ servers: 'nats://127.0.0.1:4222' });
  const reply: Msg = await nc.request('time', 'now', { timeout: 500 });
  const js: JetStreamClient = nc.jetstream();
  const config: StreamConfig = { name: 'ORDERS', subjects: ['orders.>'] };
  await (await nc.jetstreamManager()).streams.add(config);
  const ack: PubAck = await js.publish('orders.1', reply.data);
  const kv: KvBucket = await js.createKeyValue({ bucket: 'prices' });
  const entry: KvEntry | null = await kv.get('apple');
  const store: ObjectStore = await js.createObjectStore({ bucket: 'files' });
  const info: ObjectInfo = await store.put({ name: 'a.txt' }, 'hello');
  const svc: Service = await nc.addService({ name: 'calc', version: '1.0.0' });
  svc.addEndpoint('sum', { handler: (req: ServiceMsg) => req.respond('3') });
  // @ts-expect-error a bucket name is a string: the types are real, not any
  await js.createKeyValue({ bucket: 1 });
  const errors = [NatsError, TimeoutError, BucketNotFoundError, ObjectNotFoundError];
  const nest = [NatsHealthIndicator, ClientNats, JetStreamHandler, NatsModule, ServerNats, rootConnect];
  console.log(ack.seq, entry?.revision, info.size, errors.length, nest.length);
}
`;

const BASE = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  target: 'ES2022',
  lib: ['ES2023', 'DOM'],
  types: ['node'],
};

// name -> [folder whose package.json sets the module format, compiler options]
const SETTINGS = {
  // A Nest 11 app's tsconfig: "module": "commonjs" alone, which implies node10 resolution.
  node10: ['cjs', { module: 'commonjs' }],
  'nodenext (CommonJS file)': ['cjs', { module: 'nodenext', moduleResolution: 'nodenext' }],
  'nodenext (ESM file)': ['esm', { module: 'nodenext', moduleResolution: 'nodenext' }],
  node16: ['esm', { module: 'node16', moduleResolution: 'node16' }],
  bundler: ['esm', { module: 'esnext', moduleResolution: 'bundler' }],
};

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}

function pack(work) {
  // A staging copy built from the sources, so that neither stale files in dist/ nor a build
  // running at the same time end up in the tarball.
  const stage = join(work, 'stage');
  mkdirSync(stage, { recursive: true });
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  run(
    process.execPath,
    [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')],
    root,
  );
  cpSync(join(root, 'package.json'), join(stage, 'package.json'));
  for (const f of ['README.md', 'LICENSE']) {
    try {
      cpSync(join(root, f), join(stage, f));
    } catch {
      // optional files
    }
  }
  const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', work], {
    cwd: stage,
    encoding: 'utf8',
  });
  return join(work, out.trim().split('\n').pop());
}

function install(project, tarball) {
  const version = (dir) => readJson(join(root, dir, 'package.json')).version;
  const nest11 = readJson(join(root, 'test/compat/nest11/package-lock.json')).packages;
  const peers = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', '@nestjs/terminus']
    .concat(['reflect-metadata', 'rxjs'])
    .map((name) => `${name}@${nest11[`node_modules/${name}`].version}`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run(
    npm,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--silent',
      tarball,
      `typescript@${version('node_modules/typescript')}`,
      `@types/node@${version('node_modules/@types/node')}`,
      ...peers,
    ],
    project,
  );
}

function main() {
  const work = mkdtempSync(join(tmpdir(), 'nestjs-nats-consumer-'));
  const project = join(work, 'consumer');
  let failed = 0;
  try {
    mkdirSync(project, { recursive: true });
    const tarball = pack(work);
    install(project, tarball);
    for (const [folder, type] of [
      ['cjs', 'commonjs'],
      ['esm', 'module'],
    ]) {
      mkdirSync(join(project, folder));
      writeFileSync(join(project, folder, 'package.json'), JSON.stringify({ type }));
      writeFileSync(join(project, folder, 'consumer.ts'), CONSUMER);
    }
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    for (const [name, [folder, options]] of Object.entries(SETTINGS)) {
      const file = join(project, `tsconfig.${name.replace(/\W+/g, '-').replace(/-$/, '')}.json`);
      const compilerOptions = { ...BASE, ...options };
      writeFileSync(file, JSON.stringify({ compilerOptions, files: [`${folder}/consumer.ts`] }));
      const r = spawnSync(process.execPath, [tsc, '-p', file], { cwd: project, encoding: 'utf8' });
      if (r.status === 0) console.log(`types resolve under ${name}`);
      else {
        failed++;
        console.error(`types do not resolve under ${name}:\n${r.stdout}${r.stderr}`);
      }
    }
  } finally {
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  return failed;
}

process.exit(main() === 0 ? 0 : 1);
