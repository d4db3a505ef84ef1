// Credentials on every connect (suppliers), what the client does when the server says the
// credentials expired or were revoked, and reconnectToServer, against real nats-server processes
// (the fake server only sends the -ERRs a real one cannot be made to send on demand).
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { createKeyPair, PREFIX_USER } from '../../lib/core/auth/nkeys.js';
import {
  AuthenticationExpiredError,
  AuthenticationRevokedError,
  AuthorizationError,
  connect,
  CredentialSupplierError,
  InvalidOptionError,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
  type PoolServer,
  type Status,
} from '../../lib/core/index.js';
import {
  recordStatus,
  startFakeServer,
  startJwtServer,
  startServer,
  stopAllServers,
  type FakeConnection,
  type FakeServer,
} from '../support/index.js';

afterAll(stopAllServers);

const open: NatsConnection[] = [];
const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function client(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({ reconnectTimeWait: 50, reconnectJitter: 10, ...opts });
  open.push(nc);
  return nc;
}

async function fake(handler: (c: FakeConnection, n: number) => Promise<void>): Promise<FakeServer> {
  let n = 0;
  const server = await startFakeServer((c) => handler(c, ++n));
  fakes.push(server);
  return server;
}

/** Resolves with the first recorded status event of `type`, even one already seen (rejects after `ms`). */
function next(seen: Status[], type: Status['type'], ms = 8000): Promise<Status> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const hit = seen.find((s) => s.type === type);
      if (hit) {
        clearInterval(timer);
        resolve(hit);
      } else if (Date.now() - started > ms) {
        clearInterval(timer);
        reject(new Error(`no ${type} event within ${ms} ms: ${JSON.stringify(seen)}`));
      }
    }, 10);
  });
}

const shown = (v: unknown): string =>
  [String(v), JSON.stringify(v), inspect(v, { depth: 10 })].join();

describe('credential suppliers', () => {
  it('calls a token supplier again on reconnect: a token rotated across a server restart', async () => {
    const server = await startServer({ config: 'authorization { token: "tok-one" }' });
    let current = 'tok-one';
    const given: string[] = [];
    const nc = await client({
      servers: server.url,
      maxReconnectAttempts: -1,
      token: async () => {
        given.push(current);
        return current;
      },
    });
    const seen = recordStatus(nc);
    await server.kill('SIGTERM');
    const config = readFileSync(server.configFile, 'utf8');
    writeFileSync(server.configFile, config.replace('"tok-one"', '"tok-two"'));
    current = 'tok-two';
    await server.restart();
    await next(seen, 'reconnect');
    expect(given[0]).toBe('tok-one');
    expect(given.at(-1)).toBe('tok-two');
    const sub = nc.subscribe('rotated');
    nc.publish('rotated', 'ok');
    expect((await sub.nextMsg(2000)).string()).toBe('ok');
  });

  it('calls user and pass suppliers and an nkeySeed supplier on connect', async () => {
    const userServer = await startServer({ user: 'bob', pass: 'pw-1' });
    const nc = await client({
      servers: userServer.url,
      user: () => 'bob',
      pass: async () => 'pw-1',
    });
    await nc.flush();
    const kp = createKeyPair(PREFIX_USER);
    const nkeyServer = await startServer({ nkeyUsers: [kp.publicKey] });
    const nk = await client({ servers: nkeyServer.url, nkeySeed: () => Promise.resolve(kp.seed) });
    await nk.flush();
  });

  it('rejects connect with CredentialSupplierError, without the secret, when a supplier throws', async () => {
    const server = await startServer({ token: 'tok-S3CRET-1' });
    const err = await connect({
      servers: server.url,
      token: () => {
        throw new Error('lookup failed for tok-S3CRET-1');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialSupplierError);
    expect((err as CredentialSupplierError).option).toBe('token');
    expect(shown(err)).not.toContain('S3CRET');
    expect(((err as CredentialSupplierError).supplierError as Error).message).toContain('S3CRET');
  });

  it('rejects connect when a supplier returns the wrong type', async () => {
    const server = await startServer({ token: 'tok' });
    const err = await connect({ servers: server.url, token: () => 42 as never }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CredentialSupplierError);
    expect((err as Error).message).toBe('the token supplier returned a number, not a string');
  });

  it('reports a supplier failing during reconnect through onError, and keeps trying', async () => {
    const server = await fake(async (c, n) => {
      // The second attempt never sends CONNECT: its supplier throws.
      if (n === 2) return c.sendInfo();
      await c.handshake();
      if (n === 1) c.close();
    });
    let calls = 0;
    const errors: NatsError[] = [];
    const nc = await client({
      servers: server.url,
      token: () => {
        if (++calls === 2) throw new Error('vault briefly down');
        return `tok-${calls}`;
      },
      onError: (e) => errors.push(e),
    });
    const seen = recordStatus(nc);
    await next(seen, 'reconnect');
    expect(errors.map((e) => e.constructor)).toEqual([CredentialSupplierError]);
    const tokens = server.connections.flatMap((c) =>
      c.lines
        .filter((l) => l.startsWith('CONNECT '))
        .map((l) => (JSON.parse(l.slice(8)) as { auth_token?: string }).auth_token),
    );
    expect(tokens).toEqual(['tok-1', 'tok-3']);
  });
});

describe('expired and revoked credentials', () => {
  it('reconnects with fresh credentials when the user JWT expires (User Authentication Expired)', async () => {
    const jwt = await startJwtServer();
    const shortLived = jwt.addUser({ expires: Math.floor(Date.now() / 1000) + 2 });
    const fresh = jwt.addUser();
    let calls = 0;
    const errors: NatsError[] = [];
    const nc = await client({
      servers: jwt.server.url,
      creds: () => (++calls === 1 ? shortLived.creds : fresh.creds),
      onError: (e) => errors.push(e),
    });
    const seen = recordStatus(nc);
    await next(seen, 'reconnect', 9000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuthenticationExpiredError);
    expect(errors[0]).toBeInstanceOf(AuthorizationError);
    expect(errors[0]).toMatchObject({ code: 'AUTHENTICATION_EXPIRED', scope: 'user' });
    expect(calls).toBe(2);
    const sub = nc.subscribe('after.expiry');
    nc.publish('after.expiry', 'ok');
    expect((await sub.nextMsg(2000)).string()).toBe('ok');
    expect(nc.isClosed).toBe(false);
  }, 15_000);

  it('reports Account Authentication Expired with scope account, then reconnects', async () => {
    const server = await fake(async (c, n) => {
      await c.handshake();
      if (n === 1) {
        await c.waitFor(/^PING$/);
        c.send("-ERR 'Account Authentication Expired'\r\n");
        c.close();
      }
    });
    const errors: NatsError[] = [];
    const nc = await client({ servers: server.url, onError: (e) => errors.push(e) });
    await next(recordStatus(nc), 'reconnect');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'AUTHENTICATION_EXPIRED', scope: 'account' });
  });

  /** A fake server that ends the first connection with `first`, then refuses every CONNECT. */
  async function refusingAfter(first: string): Promise<FakeServer> {
    return fake(async (c, n) => {
      if (n === 1) {
        await c.handshake();
        await c.waitFor(/^PING$/);
        c.send(`-ERR '${first}'\r\n`);
      } else {
        c.sendInfo();
        await c.waitFor(/^CONNECT /);
        c.send("-ERR 'Authorization Violation'\r\n");
      }
      c.close();
    });
  }

  it('does not count an expiry as a refusal: two refusals of the new credentials close', async () => {
    const server = await refusingAfter('User Authentication Expired');
    const nc = await client({ servers: server.url });
    const err = await nc.closed();
    expect(err).toBeInstanceOf(AuthorizationError);
    expect((err as AuthorizationError).code).toBe('AUTHORIZATION_VIOLATION');
    expect(server.connections).toHaveLength(3);
  });

  it('counts a revocation as a refusal: one more refusal closes, with typed errors', async () => {
    const server = await refusingAfter('User Authentication Revoked');
    const errors: NatsError[] = [];
    const nc = await client({ servers: server.url, onError: (e) => errors.push(e) });
    const err = await nc.closed();
    expect(errors[0]).toBeInstanceOf(AuthenticationRevokedError);
    expect(errors[0].code).toBe('AUTHENTICATION_REVOKED');
    expect(err).toBeInstanceOf(AuthorizationError);
    expect(server.connections).toHaveLength(2);
  });
});

describe('reconnectToServer', () => {
  async function twoServers(): Promise<{ a: string; b: string; kill: () => Promise<void> }> {
    const a = await startServer();
    const b = await startServer();
    return { a: a.url, b: b.url, kill: () => a.kill() };
  }

  it('reconnects to the server it picks, after the delay it gives, shown the pool', async () => {
    const { a, b, kill } = await twoServers();
    const calls: PoolServer[][] = [];
    const nc = await client({
      servers: [a, b],
      noRandomize: true,
      ignoreClusterUpdates: true,
      reconnectToServer: (servers) => {
        calls.push(servers);
        return { server: b, delay: 300 };
      },
    });
    expect(nc.connectedUrl).toBe(a);
    const seen = recordStatus(nc);
    const lost = Date.now();
    await kill();
    await next(seen, 'reconnect');
    expect(Date.now() - lost).toBeGreaterThanOrEqual(290);
    expect(nc.connectedUrl).toBe(b);
    expect(calls).toHaveLength(1);
    expect(calls[0].map((s) => s.url).sort()).toEqual([a, b].sort());
    expect(calls[0].find((s) => s.url === a)).toMatchObject({
      didConnect: true,
      discovered: false,
    });
  });

  it('reports a server outside the pool or a throw as InvalidOptionError and uses the default', async () => {
    for (const pick of [
      () => ({ server: 'nats://127.0.0.1:1' }),
      () => {
        throw new Error('bug in the picker');
      },
    ]) {
      const { a, b, kill } = await twoServers();
      const errors: NatsError[] = [];
      const nc = await client({
        servers: [a, b],
        noRandomize: true,
        ignoreClusterUpdates: true,
        reconnectToServer: pick,
        onError: (e) => errors.push(e),
      });
      const seen = recordStatus(nc);
      await kill();
      await next(seen, 'reconnect');
      expect(nc.connectedUrl).toBe(b);
      expect(errors[0]).toBeInstanceOf(InvalidOptionError);
      expect(errors[0].message).toMatch(/^option reconnectToServer (returned|threw)/);
      await nc.close();
    }
  });
});
