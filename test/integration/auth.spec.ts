// Authentication against real nats-server processes: user/password, token, nkey, JWT, custom.
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createKeyPair,
  PREFIX_ACCOUNT,
  PREFIX_USER,
  signNonce,
} from '../../lib/core/auth/nkeys.js';
import {
  AuthorizationError,
  connect,
  type ConnectOptions,
  InvalidOptionError,
  type NatsConnection,
  NatsError,
} from '../../lib/core/index.js';
import {
  formatCreds,
  type JwtServer,
  type NatsServerHandle,
  recordStatus,
  startJwtServer,
  startServer,
  stopAllServers,
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

  it('reports an expired user JWT through onError and status(), then closes once the same creds are refused', async () => {
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
    // Expired is its own code. The reconnects with the same creds are refused (Authorization
    // Violation), or, within the second of `exp`, accepted and expired at once: two in a row close.
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['AUTHENTICATION_EXPIRED']));
    expect(errors.length).toBeLessThanOrEqual(3);
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

// Credentials with characters that need escaping, nkey seeds, creds files, authenticators, and no
// secret in anything a live connection shows.
describe('credentials that need care, and secret hygiene', () => {
  async function outcome(opts: ConnectOptions): Promise<unknown> {
    return connect({ timeout: 2000, reconnect: false, ...opts }).then(
      (nc) => {
        open.push(nc);
        return nc;
      },
      (e: unknown) => e,
    );
  }

  const shown = (v: unknown): string => `${inspect(v, { depth: 10 })}\n${String(v)}`;

  const SPECIAL_USER = 'al@ice:x/y';
  const SPECIAL_PASS = 'p@ss:w/rd%?#S3CRET';
  const accountKeys = createKeyPair(PREFIX_ACCOUNT);

  let userServer: NatsServerHandle;
  let nkeyServer: NatsServerHandle;
  let jwt: JwtServer;
  beforeAll(async () => {
    [userServer, nkeyServer, jwt] = await Promise.all([
      startServer({ user: SPECIAL_USER, pass: SPECIAL_PASS }),
      startServer({ nkeyUsers: [nkeyUser.publicKey] }),
      startJwtServer(),
    ]);
  });
  const hp = (s: NatsServerHandle): string => `127.0.0.1:${s.port}`;

  describe('credentials in URLs', () => {
    it('accepts percent-encoded @ : / % ? # in user and password', async () => {
      const url = `nats://${encodeURIComponent(SPECIAL_USER)}:${encodeURIComponent(SPECIAL_PASS)}@${hp(userServer)}`;
      const nc = await outcome({ servers: url });
      expect(nc).toHaveProperty('isConnected', true);
      expect(shown(nc)).not.toContain('S3CRET');
      expect((nc as NatsConnection).servers.join()).not.toContain('S3CRET');
    });

    it('refuses a URL with a malformed percent-escape with InvalidOptionError (not a raw URIError)', async () => {
      const err = await outcome({ servers: `nats://alice:100%S3CRET@${hp(userServer)}` });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain('S3CRET');
    });

    it('does not echo the password of an unparseable URL (password with an unencoded "/")', async () => {
      const err = await outcome({ servers: `nats://alice:S3CRET/pw@${hp(userServer)}` });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain('S3CRET');
    });

    it('does not echo the token of an unparseable URL (token with an unencoded "/")', async () => {
      const err = await outcome({ servers: `nats://tok/S3CRET@${hp(userServer)}` });
      expect(err).toBeInstanceOf(NatsError);
      expect(shown(err)).not.toContain('S3CRET');
    });
  });

  describe('tokens needing escaping', () => {
    it('sends a token with quotes, backslashes and unicode correctly', async () => {
      const token = 'a"b\\c\u00e9\u2603 S3CRET';
      const s = await startServer({ token });
      const nc = await outcome({ servers: s.url, token });
      expect(nc).toHaveProperty('isConnected', true);
      const viaUrl = await outcome({ servers: `nats://${encodeURIComponent(token)}@${hp(s)}` });
      expect(viaUrl).toHaveProperty('isConnected', true);
      const bad = await outcome({ servers: s.url, token: token + 'x' });
      expect(bad).toBeInstanceOf(AuthorizationError);
      expect(shown(bad)).not.toContain('S3CRET');
    });
  });

  describe('nkey seeds', () => {
    it('rejects a seed with a bad checksum with InvalidOptionError, without the seed', async () => {
      // A character in the middle: the last one also holds padding bits a change may not touch.
      const s = nkeyUser.seed;
      const broken = s.slice(0, 20) + (s[20] === 'A' ? 'B' : 'A') + s.slice(21);
      const err = await outcome({ servers: nkeyServer.url, nkeySeed: broken });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain(broken);
      expect(shown(err)).not.toContain(broken.slice(10, 40));
    });

    it('refuses an account seed given as nkeySeed with a typed error, without the seed', async () => {
      const err = await outcome({ servers: nkeyServer.url, nkeySeed: accountKeys.seed });
      expect(err instanceof InvalidOptionError || err instanceof AuthorizationError).toBe(true);
      expect(shown(err)).not.toContain(accountKeys.seed);
    });

    it('accepts a seed read from a file with a trailing newline', async () => {
      const nc = await outcome({ servers: nkeyServer.url, nkeySeed: `${nkeyUser.seed}\n` });
      expect(nc).toHaveProperty('isConnected', true);
    });

    it('rejects a seed with lower-case letters (typo) as InvalidOptionError without the seed', async () => {
      const lower = nkeyUser.seed.toLowerCase();
      const err = await outcome({ servers: nkeyServer.url, nkeySeed: lower });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain(lower);
    });

    it('refuses an empty nkeySeed instead of silently connecting without credentials', async () => {
      const err = await outcome({
        servers: userServer.url,
        nkeySeed: '',
        user: SPECIAL_USER,
        pass: SPECIAL_PASS,
      });
      // '' passes option validation as "an nkey seed was given" yet is ignored at connect time.
      expect(err).toBeInstanceOf(InvalidOptionError);
    });
  });

  describe('creds', () => {
    it('connects with CRLF line endings and extra whitespace', async () => {
      const creds = formatCreds(jwt.user.jwt, jwt.user.seed)
        .split('\n')
        .map((l) => `   ${l}\t `)
        .join('\r\n');
      const nc = await outcome({ servers: jwt.server.url, creds });
      expect(nc).toHaveProperty('isConnected', true);
    });

    it('refuses creds whose seed is not the JWT subject with AuthorizationError, no secret', async () => {
      const other = jwt.addUser();
      const creds = formatCreds(jwt.user.jwt, other.seed);
      const err = await outcome({ servers: jwt.server.url, creds });
      expect(err).toBeInstanceOf(AuthorizationError);
      expect(shown(err)).not.toContain(other.seed);
      expect(shown(err)).not.toContain(jwt.user.jwt);
    });

    it('refuses a creds file without a seed with InvalidOptionError naming no secret', async () => {
      const file = join(jwt.server.dir, 'noseed.creds');
      writeFileSync(
        file,
        formatCreds(jwt.user.jwt, 'X').replace(/-----BEGIN USER NKEY SEED[\s\S]*$/, ''),
      );
      const err = await outcome({ servers: jwt.server.url, credsFile: file });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain(jwt.user.jwt);
    });

    it('refuses a creds file that does not exist with InvalidOptionError', async () => {
      const err = await outcome({
        servers: jwt.server.url,
        credsFile: join(jwt.server.dir, 'nope.creds'),
      });
      expect(err).toBeInstanceOf(InvalidOptionError);
    });

    it('refuses creds whose seed has a bad checksum with InvalidOptionError, no secret', async () => {
      const seed = jwt.user.seed;
      const broken = seed.slice(0, 20) + (seed[20] === 'A' ? 'B' : 'A') + seed.slice(21);
      const err = await outcome({
        servers: jwt.server.url,
        creds: formatCreds(jwt.user.jwt, broken),
      });
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(shown(err)).not.toContain(broken);
    });
  });

  describe('authenticator', () => {
    it('rejects connect with a typed error when the authenticator throws', async () => {
      const err = await outcome({
        servers: nkeyServer.url,
        authenticator: () => {
          throw new Error('vault unavailable');
        },
      });
      // README: connect rejects with ConnectionError, AuthorizationError or InvalidOptionError.
      expect(err).toBeInstanceOf(NatsError);
      expect((err as Error).message).toMatch(/vault unavailable|authenticator/);
    });

    it('rejects connect with a typed error when the authenticator returns a rejected promise', async () => {
      const err = await outcome({
        servers: nkeyServer.url,
        authenticator: () => Promise.reject(new Error('vault down')),
      });
      expect(err).toBeInstanceOf(NatsError);
    });

    it('treats garbage from the authenticator as refused credentials, not a crash', async () => {
      for (const garbage of [null, undefined, 42, 'abc', []]) {
        const err = await outcome({
          servers: nkeyServer.url,
          authenticator: () => garbage as never,
        });
        expect(err).toBeInstanceOf(NatsError);
      }
    });

    it('does not let an authenticator override protocol fields of CONNECT', async () => {
      // An authenticator is only meant to supply credentials.
      const err = await outcome({
        servers: userServer.url,
        authenticator: () =>
          ({ user: SPECIAL_USER, pass: SPECIAL_PASS, headers: false, verbose: true }) as never,
      });
      expect(err).toHaveProperty('isConnected', true);
      const nc = err as NatsConnection;
      const sub = nc.subscribe('hdr.test');
      nc.publish('hdr.test', 'x', { headers: { A: '1' } });
      const m = await sub.nextMsg(1000);
      expect(m.headers?.get('A')).toBe('1');
    });

    it('times out (not hangs) when the authenticator never resolves', async () => {
      const started = Date.now();
      const err = await outcome({
        servers: nkeyServer.url,
        timeout: 500,
        authenticator: () => new Promise(() => undefined),
      });
      expect(err).toBeInstanceOf(NatsError);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  describe('secret hygiene around a live connection', () => {
    it('keeps user/pass from URL out of inspect(nc), status events and errors after a server restart', async () => {
      const s = await startServer({ user: 'bob', pass: 'S3CRET-bob' });
      const nc = (await outcome({
        servers: `nats://bob:S3CRET-bob@${hp(s)}`,
        reconnect: true,
        reconnectTimeWait: 50,
      })) as NatsConnection;
      const events = recordStatus(nc);
      await s.restart();
      for (let i = 0; i < 300 && !events.some((e) => e.type === 'reconnect'); i++)
        await new Promise((r) => setTimeout(r, 10));
      const all = [
        shown(nc),
        shown(events),
        shown(nc.info),
        shown(nc.servers),
        shown(nc.stats()),
      ].join();
      expect(all).not.toContain('S3CRET');
    });
  });
});
