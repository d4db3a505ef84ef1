import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildPackageApp, type BuiltPackageApp } from '../support/built-package.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';

// The package built into an app of its own that has no @opentelemetry/api: connect, publish,
// subscribe and request work, with telemetry off and no error about the missing peer.
let app: BuiltPackageApp | undefined;
let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
  app = buildPackageApp('nestjs-nats-no-otel-');
}, 120_000);

afterAll(async () => {
  app?.remove();
  await stopAllServers();
});

describe('without @opentelemetry/api installed', () => {
  it('cannot resolve the API from the app', () => {
    const require = createRequire(join(app!.dir, 'main.js'));
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
    const r = app!.run(code, 'module', 20_000);
    expect(r).toEqual({
      status: 0,
      output: 'pong:false false\n',
    });
  });
});
