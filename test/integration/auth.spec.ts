// Authentication against real nats-server processes: user/password, token, nkey, JWT, custom.
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { PREFIX_USER, createKeyPair, signNonce } from '../../lib/core/auth/nkeys.js';
import {
  AuthorizationError,
  InvalidOptionError,
  connect,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
} from '../../lib/core/index.js';
import {
  startJwtServer,
  startServer,
  stopAllServers,
  type JwtServer,
  type NatsServerHandle,
  recordStatus,
} from '../support/index.js';

afterAll(stopAllServers);

const PASS = 'pw-S3CRET-alice';
const TOKEN = 'tok-S3CRET-xyz';
const nkeyUser = createKeyPair(PREFIX_USER);

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

async function client(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({ reconnectTimeWait: 50, reconnectJitter: 10, ...opts });
  open.push(nc);
  return nc;
}

/** Connect options that the server must refuse; resolves with the AuthorizationError. */
async function refused(opts: ConnectOptions): Promise<AuthorizationError> {
  const err = await connect(opts).then(
    (nc) => {
      open.push(nc);
      return new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthorizationError);
  expect((err as AuthorizationError).code).toBe('AUTHORIZATION_VIOLATION');
  return err as AuthorizationError;
}

async function roundTrip(nc: NatsConnection): Promise<void> {
  const subject = nc.newInbox();
  const sub = nc.subscribe(subject);
  nc.publish(subject, 'hi');
  expect((await sub.nextMsg(2000)).string()).toBe('hi');
}

describe('authentication', () => {
  let userServer: NatsServerHandle;
  let tokenServer: NatsServerHandle;
  let nkeyServer: NatsServerHandle;
  let jwt: JwtServer;
  beforeAll(async () => {
    [userServer, tokenServer, nkeyServer, jwt] = await Promise.all([
      startServer({ user: 'alice', pass: PASS }),
      startServer({ token: TOKEN }),
      startServer({ nkeyUsers: [nkeyUser.publicKey] }),
      startJwtServer(),
    ]);
  });
  const hostport = (s: NatsServerHandle): string => `127.0.0.1:${s.port}`;

  it('authenticates with user and password from the options or the URL', async () => {
    await roundTrip(await client({ servers: userServer.url, user: 'alice', pass: PASS }));
    const fromUrl = await client({ servers: `nats://alice:${PASS}@${hostport(userServer)}` });
    await roundTrip(fromUrl);
    expect(fromUrl.connectedUrl).toBe(userServer.url);
    await refused({ servers: userServer.url, user: 'alice', pass: 'wrong' });
    await refused({ servers: `nats://alice:wrong@${hostport(userServer)}` });
    await refused({ servers: userServer.url });
  });

  it('authenticates with a token from the options or the URL', async () => {
    await roundTrip(await client({ servers: tokenServer.url, token: TOKEN }));
    await roundTrip(await client({ servers: `nats://${TOKEN}@${hostport(tokenServer)}` }));
    await refused({ servers: tokenServer.url, token: 'wrong' });
  });

  it('authenticates with an nkey seed by signing the nonce', async () => {
    await roundTrip(await client({ servers: nkeyServer.url, nkeySeed: nkeyUser.seed }));
    await refused({ servers: nkeyServer.url, nkeySeed: createKeyPair(PREFIX_USER).seed });
    const bad = await connect({ servers: nkeyServer.url, nkeySeed: 'SUNOTASEED' }).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(InvalidOptionError);
    expect((bad as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect(inspect(bad)).not.toContain('SUNOTASEED');
  });

  it('authenticates with a JWT and seed from a creds file or a creds string', async () => {
    await roundTrip(await client({ servers: jwt.server.url, credsFile: jwt.user.credsFile }));
    await roundTrip(await client({ servers: jwt.server.url, creds: jwt.user.creds }));
    // A user signed by an account the server does not trust.
    const stranger = await startJwtServer();
    await refused({ servers: jwt.server.url, creds: stranger.user.creds });
    await stranger.server.stop();
  });

  it('uses a custom authenticator on every (re)connect, with the nonce', async () => {
    const server = await startServer({ nkeyUsers: [nkeyUser.publicKey] });
    const nonces: Array<string | undefined> = [];
    let reconnected = false;
    const nc = await client({
      servers: server.url,
      authenticator: (nonce) => {
        nonces.push(nonce);
        return { nkey: nkeyUser.publicKey, sig: signNonce(nkeyUser.seed, nonce ?? '') };
      },
      onReconnect: () => (reconnected = true),
    });
    await roundTrip(nc);
    await server.restart();
    for (let i = 0; i < 300 && !reconnected; i++) await sleep(10);
    expect(reconnected).toBe(true);
    await roundTrip(nc);
    expect(nonces.length).toBeGreaterThanOrEqual(2);
    expect(nonces.every((n) => typeof n === 'string' && n.length > 0)).toBe(true);
    expect(nonces[0]).not.toBe(nonces.at(-1));
    await refused({ servers: server.url, authenticator: () => ({ user: 'x', pass: 'y' }) });
  });

  it('rejects connect() at once on an authorization failure, even with waitOnFirstConnect', async () => {
    const started = Date.now();
    await refused({ servers: userServer.url, user: 'alice', pass: 'no', waitOnFirstConnect: true });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('surfaces a later authorization failure and closes without a reconnect storm', async () => {
    const server = await startServer({ config: `authorization { user: bob, password: "p1" }` });
    const closes: Array<Error | undefined> = [];
    const nc = await client({
      servers: server.url,
      user: 'bob',
      pass: 'p1',
      onClose: (e) => closes.push(e),
    });
    const seen = recordStatus(nc);
    // The server drops connections whose credentials no longer match.
    await server.reload(`authorization { user: bob, password: "p2" }`);
    const err = await nc.closed();
    expect(err).toBeInstanceOf(AuthorizationError);
    expect((err as AuthorizationError).code).toBe('AUTHORIZATION_VIOLATION');
    expect(closes).toEqual([err]);
    await sleep(20);
    expect(seen.filter((s) => s.type === 'reconnecting').length).toBeLessThanOrEqual(3);
    expect(seen.at(-1)).toEqual({ type: 'close', error: err });
  });

  it('reports an expired user JWT through onError and status(), then closes', async () => {
    const user = jwt.addUser({ expires: Math.floor(Date.now() / 1000) + 2 });
    const errors: NatsError[] = [];
    const nc = await client({
      servers: jwt.server.url,
      creds: user.creds,
      onError: (e) => errors.push(e),
    });
    const seen = recordStatus(nc);
    const err = await nc.closed();
    expect(err).toBeInstanceOf(AuthorizationError);
    expect(errors.some((e) => e instanceof AuthorizationError && /expired/i.test(e.message))).toBe(
      true,
    );
    expect(errors.every((e) => e.code === 'AUTHORIZATION_VIOLATION')).toBe(true);
    await sleep(20);
    const statusErrors = seen.filter((s) => s.type === 'error');
    expect(statusErrors.map((s) => s.error)).toEqual(errors);
    expect(seen.filter((s) => s.type === 'reconnecting').length).toBeLessThanOrEqual(3);
  }, 10_000);

  it('never shows passwords, tokens, seeds or JWTs in errors, status events or info', async () => {
    const secrets = [PASS, TOKEN, nkeyUser.seed, jwt.user.seed, jwt.user.jwt, 'WRONG-S3CRET'];
    const shown: string[] = [];
    const show = (v: unknown): void => void shown.push(inspect(v, { depth: 10 }), String(v));
    const attempts: ConnectOptions[] = [
      { servers: `nats://alice:WRONG-S3CRET@${hostport(userServer)}` },
      { servers: userServer.url, user: 'alice', pass: 'WRONG-S3CRET' },
      { servers: tokenServer.url, token: 'WRONG-S3CRET' },
      { servers: nkeyServer.url, nkeySeed: jwt.user.seed },
      { servers: userServer.url, creds: jwt.user.creds },
    ];
    for (const opts of attempts) show(await connect(opts).catch((e: unknown) => e));
    const ncs = [
      await client({ servers: `nats://alice:${PASS}@${hostport(userServer)}` }),
      await client({ servers: `nats://${TOKEN}@${hostport(tokenServer)}` }),
      await client({ servers: nkeyServer.url, nkeySeed: nkeyUser.seed }),
      await client({ servers: jwt.server.url, creds: jwt.user.creds }),
    ];
    const events = ncs.map(recordStatus);
    for (const nc of ncs) {
      show(JSON.stringify(nc.info));
      show([nc.servers, nc.discoveredServers, nc.connectedUrl, nc.stats()]);
      await nc.close();
    }
    await sleep(20);
    show(events);
    const all = shown.join('\n');
    expect(secrets.filter((secret) => all.includes(secret))).toEqual([]);
  });

  it('does not reveal credentials when the connection object is logged', async () => {
    const nc = await client({ servers: `nats://alice:${PASS}@${hostport(userServer)}` });
    const jwtNc = await client({ servers: jwt.server.url, creds: jwt.user.creds });
    const logged = inspect([nc, jwtNc], { depth: 6 });
    const secrets = { password: PASS, seed: jwt.user.seed, jwt: jwt.user.jwt };
    const leaked = Object.entries(secrets).filter(([, v]) => logged.includes(v));
    expect(leaked.map(([name]) => name)).toEqual([]);
  });
});
