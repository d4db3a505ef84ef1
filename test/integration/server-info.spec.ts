// The server's release and JetStream API level as the connection exposes them, the handshake's
// tolerance of newer INFO fields, and nonces that do not ask for a signature (2.12 proxies).
import {
  FeatureNotSupportedError,
  NatsError,
  connect,
  type NatsConnection,
} from '../../lib/core/index.js';
import { PREFIX_USER, createKeyPair, signNonce } from '../../lib/core/auth/nkeys.js';
import { requireServer } from '../../lib/core/server-version.js';
import { jetstreamManager } from '../../lib/jetstream/index.js';
import {
  itBefore,
  itSince,
  startFakeServer,
  startServer,
  stopAllServers,
  testServerVersion,
  type FakeServer,
  type NatsServerHandle,
} from '../support/index.js';

const open: NatsConnection[] = [];
async function client(servers: string): Promise<NatsConnection> {
  const nc = await connect({ servers, reconnect: false });
  open.push(nc);
  return nc;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => undefined)));
});

describe('server release and API level (real server)', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startServer({ jetstream: true });
  });
  afterAll(stopAllServers);

  it('parses the release of the server from INFO', async () => {
    const nc = await client(server.url);
    const [major, minor, patch] = testServerVersion().split('.').map(Number);
    expect(nc.serverVersion).toEqual({ major, minor, patch, text: testServerVersion() });
    expect(nc.info.version).toBe(testServerVersion());
  });

  itSince('2.12.0', 'reads the API level from INFO (api_lvl, 2.12+)', async () => {
    const nc = await client(server.url);
    expect(nc.apiLevel).toBeGreaterThanOrEqual(3);
    expect(nc.info.api_lvl).toBe(nc.apiLevel);
  });

  itBefore('2.12.0', 'has no API level on the connection before 2.12', async () => {
    const nc = await client(server.url);
    expect(nc.apiLevel).toBeUndefined();
  });

  itSince('2.11.0', 'accountInfo() reports the API level (api.level, 2.11+)', async () => {
    const nc = await client(server.url);
    const info = await (await jetstreamManager(nc)).accountInfo();
    expect(info.api.level).toBeGreaterThanOrEqual(1);
    if (nc.apiLevel !== undefined) expect(info.api.level).toBe(nc.apiLevel);
  });

  itBefore('2.11.0', 'accountInfo() has no API level before 2.11', async () => {
    const nc = await client(server.url);
    const info = await (await jetstreamManager(nc)).accountInfo();
    expect(info.api.level).toBeUndefined();
  });

  it('requireServer() passes for the running release and refuses a newer one, typed', async () => {
    const nc = await client(server.url);
    expect(() => requireServer(nc, testServerVersion(), 'anything')).not.toThrow();
    let err: unknown;
    try {
      requireServer(nc, '9.0.0', 'time travel');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toBeInstanceOf(NatsError);
    expect(err).toMatchObject({
      code: 'FEATURE_NOT_SUPPORTED',
      feature: 'time travel',
      minVersion: '9.0.0',
      serverVersion: testServerVersion(),
    });
    expect((err as Error).message).toBe(
      `time travel needs nats-server 9.0.0 or newer (connected to ${testServerVersion()})`,
    );
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ minVersion: '9.0.0' });
  });
});

describe('INFO from a server newer than this client (fake server)', () => {
  let fake: FakeServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  /** Connects to a fake server sending `info`; resolves the connection and its CONNECT. */
  async function handshake(
    info: Record<string, unknown>,
    opts: Parameters<typeof connect>[0] = {},
  ): Promise<{ nc: NatsConnection; connect: Record<string, unknown> }> {
    let sent: Promise<Record<string, unknown>> | undefined;
    fake = await startFakeServer((c) => {
      sent = c.handshake(info);
    });
    const nc = await connect({ servers: fake.url, reconnect: false, ...opts });
    open.push(nc);
    return { nc, connect: await (sent as Promise<Record<string, unknown>>) };
  }

  it('ignores INFO fields it does not know and exposes version and API level', async () => {
    const { nc } = await handshake({
      version: '2.14.10',
      api_lvl: 4,
      feature_flags: { js_ack_fc_v2: true },
      xkey: 'XABC',
      some_future_field: { nested: [1, 2, 3] },
    });
    expect(nc.isConnected).toBe(true);
    expect(nc.serverVersion).toEqual({ major: 2, minor: 14, patch: 10, text: '2.14.10' });
    expect(nc.apiLevel).toBe(4);
    expect(nc.info.some_future_field).toEqual({ nested: [1, 2, 3] });
  });

  it('reads a pre-release version and ignores an api_lvl that is not a number', async () => {
    const { nc } = await handshake({ version: '2.15.0-RC.2', api_lvl: 'four' });
    expect(nc.serverVersion).toEqual({ major: 2, minor: 15, patch: 0, text: '2.15.0-RC.2' });
    expect(nc.apiLevel).toBeUndefined();
    expect(() => requireServer(nc, '2.15.0', 'x')).not.toThrow();
  });

  it('has no parsed version when the server sends none that it can read', async () => {
    const { nc } = await handshake({ version: 'unknown' });
    expect(nc.serverVersion).toBeUndefined();
    expect(() => requireServer(nc, '2.10.0', 'x')).toThrow(FeatureNotSupportedError);
  });

  it('does not sign a nonce when no nkey or creds are configured', async () => {
    const { connect: sent } = await handshake({ version: '2.12.15', nonce: 'NONCE-FOR-ALL' });
    expect(sent).not.toHaveProperty('sig');
    expect(sent).not.toHaveProperty('nkey');
    expect(sent).not.toHaveProperty('jwt');
  });

  it('sends user and password, unsigned, to a server that sends a nonce', async () => {
    const { connect: sent } = await handshake(
      { version: '2.12.15', nonce: 'NONCE-FOR-ALL', auth_required: true },
      { user: 'u', pass: 'p' },
    );
    expect(sent).toMatchObject({ user: 'u', pass: 'p' });
    expect(sent).not.toHaveProperty('sig');
  });

  it('sends a token, unsigned, to a server that sends a nonce', async () => {
    const { connect: sent } = await handshake(
      { version: '2.12.15', nonce: 'NONCE-FOR-ALL', auth_required: true },
      { token: 's3cr3t' },
    );
    expect(sent).toMatchObject({ auth_token: 's3cr3t' });
    expect(sent).not.toHaveProperty('sig');
  });

  it('signs the nonce when an nkey is configured', async () => {
    const user = createKeyPair(PREFIX_USER);
    const { connect: sent } = await handshake(
      { version: '2.12.15', nonce: 'NONCE-FOR-ALL', auth_required: true },
      { nkeySeed: user.seed },
    );
    expect(sent).toMatchObject({
      nkey: user.publicKey,
      sig: signNonce(user.seed, 'NONCE-FOR-ALL'),
    });
  });
});
