import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';

// The package built into an app of its own that has no @opentelemetry/api: connect, publish,
// subscribe and request work, with telemetry off and no error about the missing peer.
const root = join(import.meta.dirname, '../..');
let app: string;
let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
  app = mkdtempSync(join(tmpdir(), 'nestjs-nats-no-otel-'));
  const pkg = join(app, 'node_modules/nestjs-nats');
  mkdirSync(pkg, { recursive: true });
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')],
    {
      cwd: root,
    },
  );
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
}, 120_000);

afterAll(async () => {
  if (app) rmSync(app, { recursive: true, force: true });
  await stopAllServers();
});

describe('without @opentelemetry/api installed', () => {
  it('cannot resolve the API from the app', () => {
    const require = createRequire(join(app, 'main.js'));
    expect(() => require.resolve('@opentelemetry/api')).toThrow(/Cannot find module/);
  });

  it('connects, publishes, subscribes and requests with telemetry off', () => {
    const code = `
      const { connect } = await import('nestjs-nats/core');
      const nc = await connect({ servers: '${server.url}' });
      nc.subscribe('svc', { callback: (m) => m.respond('pong:' + String(m.hasHeaders)) });
      const got = new Promise((r) => nc.subscribe('evt', { callback: (m) => r(m.hasHeaders), max: 1 }));
      await nc.flush();
      nc.publish('evt', 'x');
      const headers = await got;
      const reply = await nc.request('svc', 'ping');
      await nc.close();
      console.log(reply.string(), headers);`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_PATH;
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: app,
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({
      status: 0,
      output: 'pong:false false\n',
    });
  });
});
