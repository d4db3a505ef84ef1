// Error paths against a real nats-server (small max_payload, a user with denied subjects): each
// error has its class and stable code, and the connection and other subscriptions carry on.
import {
  AuthorizationError,
  CallbackError,
  InvalidOptionError,
  InvalidSubjectError,
  MaxPayloadError,
  MsgHeaders,
  NatsError,
  PermissionViolationError,
  ProtocolError,
  ReconnectBufferFullError,
  SlowConsumerError,
  connect,
  type ConnectOptions,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';
import {
  startFakeServer,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';
import { Connections, rejection, take, thrown, waitUntil } from './core-helpers.js';

const CONFIG = `
max_payload: 1024
authorization {
  users = [
    { user: "tester", password: "pw", permissions: {
        publish: { deny: ["forbidden.>"] }, subscribe: { deny: ["forbidden.>"] } } }
  ]
}
`;

let server: NatsServerHandle;
const conns = new Connections();
let errors: NatsError[];
let statusErrors: NatsError[];
let nc: NatsConnection;
let pub: NatsConnection;

function opts(extra: ConnectOptions = {}): ConnectOptions {
  return { servers: server.url, user: 'tester', pass: 'pw', ...extra };
}

beforeAll(async () => {
  server = await startServer({ config: CONFIG });
});
beforeEach(async () => {
  errors = [];
  statusErrors = [];
  nc = await conns.connect(opts({ onError: (e) => void errors.push(e) }));
  pub = await conns.connect(opts());
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') statusErrors.push(s.error);
  })();
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

function expectCode(err: unknown, cls: abstract new (...args: never[]) => Error, code: string) {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(NatsError);
  expect((err as NatsError).code).toBe(code);
}

describe('max_payload', () => {
  it('throws MaxPayloadError before writing anything, and the connection stays up', async () => {
    expect(nc.maxPayload).toBe(1024);
    const sub = pub.subscribe('big.>');
    await pub.flush();
    const before = nc.stats().outMsgs;
    expectCode(
      thrown(() => nc.publish('big.one', new Uint8Array(1025))),
      MaxPayloadError,
      'MAX_PAYLOAD_EXCEEDED',
    );
    const headers = new MsgHeaders({ 'X-Pad': 'x'.repeat(100) });
    expectCode(
      thrown(() => nc.publish('big.two', 'y'.repeat(1000), { headers })),
      MaxPayloadError,
      'MAX_PAYLOAD_EXCEEDED',
    );
    expect(nc.stats().outMsgs).toBe(before);
    // Had the client written the oversized PUB, the server would have closed the connection.
    await nc.flush();
    expect(nc.isConnected).toBe(true);
    nc.publish('big.fits', new Uint8Array(1024));
    nc.publish('big.after', 'ok');
    const [fits, after] = await take(sub, 2);
    expect(fits.data.length).toBe(1024);
    expect(after.string()).toBe('ok');
  });

  it('rejects a request whose payload is too large with MaxPayloadError', async () => {
    const err = await rejection(nc.request('big.req', new Uint8Array(2000)));
    expectCode(err, MaxPayloadError, 'MAX_PAYLOAD_EXCEEDED');
    await nc.flush();
    expect(nc.isConnected).toBe(true);
  });
});

describe('argument errors', () => {
  it('throws InvalidSubjectError for bad subscription subjects and queue groups', async () => {
    for (const subject of ['', 'a b', 'a..b', 'a.>.b', 'a.b*']) {
      expectCode(
        thrown(() => nc.subscribe(subject)),
        InvalidSubjectError,
        'INVALID_SUBJECT',
      );
    }
    expectCode(
      thrown(() => nc.subscribe('ok', { queue: 'bad queue' })),
      InvalidSubjectError,
      'INVALID_SUBJECT',
    );
    expectCode(
      thrown(() => nc.subscribe('ok', { max: -1 })),
      InvalidOptionError,
      'INVALID_OPTION',
    );
    const sub = nc.subscribe('args.ok');
    await nc.flush();
    pub.publish('args.ok', 'fine');
    expect((await sub.nextMsg()).string()).toBe('fine');
  });
});

describe('server-reported errors', () => {
  it('rejects bad credentials with AuthorizationError', async () => {
    const err = await rejection(connect(opts({ pass: 'wrong' })));
    expectCode(err, AuthorizationError, 'AUTHORIZATION_VIOLATION');
  });

  it('reports a denied publish as PermissionViolationError and stays connected', async () => {
    const sub = nc.subscribe('allowed');
    nc.publish('forbidden.pub', 'x');
    await nc.flush();
    await waitUntil(() => errors.length > 0);
    const err = errors[0] as PermissionViolationError;
    expectCode(err, PermissionViolationError, 'PERMISSIONS_VIOLATION');
    expect(err.operation).toBe('publish');
    expect(err.subject).toBe('forbidden.pub');
    expect(statusErrors).toContain(err);
    expect(nc.isConnected).toBe(true);
    nc.publish('allowed', 'ok');
    expect((await sub.nextMsg()).string()).toBe('ok');
  });

  it('closes a denied subscription with PermissionViolationError; others keep working', async () => {
    const denied = nc.subscribe('forbidden.sub');
    const ok = nc.subscribe('allowed.sub');
    await nc.flush();
    const closedWith = await denied.closed;
    expectCode(closedWith, PermissionViolationError, 'PERMISSIONS_VIOLATION');
    expect((closedWith as PermissionViolationError).operation).toBe('subscription');
    expect(errors).toContain(closedWith);
    expect(denied.isClosed).toBe(true);
    pub.publish('allowed.sub', 'ok');
    expect((await ok.nextMsg()).string()).toBe('ok');
  });

  it('reports garbage from the server as ProtocolError and closes with it', async () => {
    const fake = await startFakeServer(async (c) => {
      await c.handshake();
      c.send('THIS IS NOT NATS\r\n');
    });
    try {
      const seen: NatsError[] = [];
      const bad = await conns.connect({
        servers: fake.url,
        reconnect: false,
        onError: (e) => void seen.push(e),
      });
      const closedWith = await bad.closed();
      expectCode(closedWith, ProtocolError, 'PROTOCOL_ERROR');
      expect(seen.some((e) => e instanceof ProtocolError)).toBe(true);
    } finally {
      await fake.close();
    }
  });
});

describe('slow consumer', () => {
  it('drops beyond pendingMsgsLimit, reports SlowConsumerError once, and recovers', async () => {
    const slow = nc.subscribe('slow.sub', { pendingMsgsLimit: 5 });
    let fastCount = 0;
    nc.subscribe('slow.sub', { callback: () => void fastCount++ });
    await nc.flush();
    for (let i = 0; i < 20; i++) pub.publish('slow.sub', String(i));
    await pub.flush();
    await nc.flush();
    expect(slow.delivered).toBe(20);
    expect(slow.pendingMsgs).toBe(5);
    expect(slow.dropped).toBe(15);
    expect(fastCount).toBe(20);
    expect(errors).toHaveLength(1);
    const err = errors[0] as SlowConsumerError;
    expectCode(err, SlowConsumerError, 'SLOW_CONSUMER');
    expect(err.subject).toBe('slow.sub');
    expect(err.sid).toBe(slow.sid);
    await waitUntil(() => statusErrors.length === 1);
    expect(statusErrors[0]).toBe(err);
    // Reading the queue makes room: the subscription receives again.
    const queued = await take(slow, 5);
    expect(queued.map((m) => m.string())).toEqual(['0', '1', '2', '3', '4']);
    pub.publish('slow.sub', 'again');
    expect((await slow.nextMsg()).string()).toBe('again');
    expect(slow.dropped).toBe(15);
    expect(nc.isConnected).toBe(true);
  });
});

describe('throwing callbacks', () => {
  it('reports CallbackError and keeps delivering to it and to other subscriptions', async () => {
    const seenByThrower: string[] = [];
    const seenByOther: string[] = [];
    nc.subscribe('cb.throw', {
      callback: (m) => {
        seenByThrower.push(m.string());
        throw new Error(`boom ${m.string()}`);
      },
    });
    nc.subscribe('cb.throw', { callback: (m) => void seenByOther.push(m.string()) });
    await nc.flush();
    for (let i = 0; i < 3; i++) pub.publish('cb.throw', String(i));
    await pub.flush();
    await waitUntil(() => seenByOther.length === 3 && seenByThrower.length === 3);
    expect(seenByThrower).toEqual(['0', '1', '2']);
    expect(seenByOther).toEqual(['0', '1', '2']);
    expect(errors).toHaveLength(3);
    for (const [i, e] of errors.entries()) {
      expectCode(e, CallbackError, 'CALLBACK_ERROR');
      expect((e.cause as Error).message).toBe(`boom ${i}`);
    }
    await waitUntil(() => statusErrors.length === 3);
    expect(nc.isConnected).toBe(true);
  });

  it('reports a rejecting async callback as CallbackError', async () => {
    let calls = 0;
    nc.subscribe('cb.async', {
      callback: async () => {
        calls++;
        await Promise.resolve();
        throw new Error('async boom');
      },
    });
    await nc.flush();
    pub.publish('cb.async', '1');
    pub.publish('cb.async', '2');
    await waitUntil(() => errors.length === 2);
    expect(calls).toBe(2);
    expectCode(errors[0], CallbackError, 'CALLBACK_ERROR');
  });
});

describe('while disconnected', () => {
  it('throws ReconnectBufferFullError past reconnectBufferSize, sends the rest on reconnect', async () => {
    const rc = await conns.connect(
      opts({ reconnectBufferSize: 2048, reconnectTimeWait: 50, reconnectJitter: 0 }),
    );
    const sub = rc.subscribe('buffered');
    await rc.flush();
    const events = rc.status();
    const restarting = server.restart();
    let ev: IteratorResult<Status>;
    do ev = await events.next();
    while (!ev.done && ev.value.type !== 'disconnect');
    let accepted = 0;
    let err: unknown;
    for (let i = 0; i < 1000 && err === undefined; i++) {
      try {
        rc.publish('buffered', 'x'.repeat(100));
        accepted++;
      } catch (e) {
        err = e;
      }
    }
    expectCode(err, ReconnectBufferFullError, 'RECONNECT_BUFFER_FULL');
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(21);
    await restarting;
    do ev = await events.next();
    while (!ev.done && ev.value.type !== 'reconnect');
    await events.return?.();
    rc.publish('buffered', 'after');
    const got = await take(sub, accepted + 1);
    expect(got.at(-1)!.string()).toBe('after');
  });
});
