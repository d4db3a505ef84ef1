// connect({ context }) with contexts written by the `nats` CLI itself (`nats context save`), in a
// private XDG_CONFIG_HOME: servers, creds, nkey, user/password, token, TLS, inbox prefix and the
// JetStream domain that becomes the default of nc.jetstream() / nc.jetstreamManager().
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKeyPair, PREFIX_USER } from '../../lib/core/auth/nkeys.js';
import {
  AuthorizationError,
  connect,
  InvalidOptionError,
  type ConnectOptions,
  type NatsConnection,
} from '../../lib/core/index.js';
import { JetStreamNotAvailableError } from '../../lib/jetstream/index.js';
import {
  natsCliBin,
  startJwtServer,
  startServer,
  stopAllServers,
  tlsFixtures,
  type JwtServer,
} from '../support/index.js';

const run = promisify(execFile);
let home: string;
const saved = {
  XDG_CONFIG_HOME: process.env['XDG_CONFIG_HOME'],
  NATS_CONTEXT: process.env['NATS_CONTEXT'],
};
const open: NatsConnection[] = [];

beforeAll(() => {
  natsCliBin();
  home = mkdtempSync(join(tmpdir(), 'nats-ctx-'));
  process.env['XDG_CONFIG_HOME'] = join(home, 'cfg');
  delete process.env['NATS_CONTEXT'];
}, 600_000);
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(home, { recursive: true, force: true });
  await stopAllServers();
});

/** `nats context save <name> <args...>`, run by the CLI against our private config dir. */
async function save(name: string, args: string[]): Promise<void> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: home, NO_COLOR: '1' };
  env['XDG_CONFIG_HOME'] = join(home, 'cfg');
  await run(natsCliBin(), ['context', 'save', name, ...args], { env, timeout: 15_000 });
}

async function client(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect(opts);
  open.push(nc);
  return nc;
}

async function roundTrip(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe('ctx.check');
  nc.publish('ctx.check', 'ok');
  expect((await sub.nextMsg(2000)).string()).toBe('ok');
}

describe('nats contexts written by the CLI', () => {
  let jwt: JwtServer;
  beforeAll(async () => {
    jwt = await startJwtServer();
  });

  it('connects with the URL and creds file of a context', async () => {
    await save('jwt', ['--server', jwt.server.url, '--creds', jwt.user.credsFile]);
    await roundTrip(await client({ context: 'jwt' }));
  });

  it('lets options given to connect() win over the context', async () => {
    await save('elsewhere', ['--server', 'nats://127.0.0.1:1', '--creds', jwt.user.credsFile]);
    const nc = await client({ context: 'elsewhere', servers: jwt.server.url });
    expect(nc.connectedUrl).toBe(jwt.server.url);
    // Credentials given to connect() replace the context's altogether.
    const err = await connect({ context: 'jwt', token: 'not-a-jwt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthorizationError);
  });

  it('connects with an nkey seed file, a token and a user whose password is an env:// reference', async () => {
    const kp = createKeyPair(PREFIX_USER);
    const seedFile = join(home, 'user.nk');
    writeFileSync(seedFile, `${kp.seed}\n`, { mode: 0o600 });
    const nkeyServer = await startServer({ nkeyUsers: [kp.publicKey] });
    await save('nkey', ['--server', nkeyServer.url, '--nkey', seedFile]);
    await roundTrip(await client({ context: 'nkey' }));

    const tokenServer = await startServer({ token: 'ctx-token' });
    // The CLI saves a --user without --password as the context's token.
    await save('token', ['--server', tokenServer.url, '--user', 'ctx-token']);
    await roundTrip(await client({ context: 'token' }));

    const userServer = await startServer({ user: 'carol', pass: 'from-env' });
    await save('userpw', [
      ...['--server', userServer.url, '--user', 'carol', '--password', 'env://CTX_TEST_PW'],
    ]);
    process.env['CTX_TEST_PW'] = 'from-env';
    try {
      await roundTrip(await client({ context: 'userpw' }));
    } finally {
      delete process.env['CTX_TEST_PW'];
    }
  });

  it('uses the context inbox prefix and TLS CA', async () => {
    const f = await tlsFixtures();
    const tlsServer = await startServer({ tls: {} });
    await save('tls', [
      ...['--server', tlsServer.url, '--tlsca', f.caFile, '--inbox-prefix', '_I.ctx'],
    ]);
    const nc = await client({ context: 'tls' });
    expect(nc.newInbox()).toMatch(/^_I\.ctx\./);
    const sub = nc.subscribe('ctx.echo', { callback: (m) => m.respond('pong') });
    expect((await nc.request('ctx.echo', 'ping')).string()).toBe('pong');
    sub.unsubscribe();
  });

  it('makes the context JetStream domain the default of jetstream() and jetstreamManager()', async () => {
    const js = await startServer({ jetstream: true, jetstreamDomain: 'hub' });
    await save('js-hub', ['--server', js.url, '--js-domain', 'hub']);
    await save('js-none', ['--server', js.url, '--js-domain', 'nowhere']);
    const hub = await client({ context: 'js-hub' });
    const jsm = await hub.jetstreamManager();
    await jsm.streams.add({ name: 'CTX', subjects: ['ctx.js.>'] });
    expect((await hub.jetstream().publish('ctx.js.1', 'x')).stream).toBe('CTX');
    // The domain is really used: a context naming another one reaches no JetStream...
    const none = await client({ context: 'js-none' });
    await expect(none.jetstreamManager()).rejects.toBeInstanceOf(JetStreamNotAvailableError);
    // ...unless the call names its own.
    await (await none.jetstreamManager({ domain: 'hub' })).accountInfo();
  });

  it('takes the selected context for context: true (NATS_CONTEXT first, then the CLI selection)', async () => {
    await save('selected', ['--server', jwt.server.url, '--creds', jwt.user.credsFile, '--select']);
    await roundTrip(await client({ context: true }));
    process.env['NATS_CONTEXT'] = 'missing-one';
    try {
      const err = await connect({ context: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as Error).message).toContain(
        join(home, 'cfg', 'nats', 'context', 'missing-one.json'),
      );
    } finally {
      delete process.env['NATS_CONTEXT'];
    }
  });

  it('refuses a context that does not exist or is not JSON, naming the file', async () => {
    const missing = await connect({ context: 'no-such-context' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvalidOptionError);
    expect((missing as Error).message).toBe(
      `nats context "no-such-context" not found: ${join(home, 'cfg', 'nats', 'context', 'no-such-context.json')} does not exist`,
    );
    const dir = join(home, 'cfg', 'nats', 'context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'garbled.json'), '{"url": "nats://h", "password": "pw-S3CRET"');
    const garbled = await connect({ context: 'garbled' }).catch((e: unknown) => e);
    expect(garbled).toBeInstanceOf(InvalidOptionError);
    expect((garbled as Error).message).toMatch(/garbled\.json\) is not valid JSON/);
    expect(JSON.stringify(garbled) + String(garbled)).not.toContain('S3CRET');
  });
});
