// connect() against a real nats-server: options, properties, status events and the callbacks.
import {
  ConnectionError,
  InvalidOptionError,
  NatsError,
  connect,
  type Status,
} from '../../lib/core/index.js';
import {
  getFreePort,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';
import { Connections, rejection, serverConnection, take, timed } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();

beforeAll(async () => {
  server = await startServer({ monitor: true });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

describe('connect()', () => {
  it('connects and exposes the server info, url, client id and max payload', async () => {
    const nc = await conns.connect({ servers: server.url });
    expect(nc.isConnected).toBe(true);
    expect(nc.isClosed).toBe(false);
    expect(nc.isDraining).toBe(false);
    expect(nc.connectedUrl).toBe(server.url);
    expect(nc.servers).toEqual([server.url]);
    expect(typeof nc.info.server_id).toBe('string');
    expect(nc.info.version).toMatch(/^2\./);
    expect(nc.maxPayload).toBe(nc.info.max_payload);
    expect(nc.maxPayload).toBe(1024 * 1024);
    expect(typeof nc.clientId).toBe('number');
    await nc.flush();
  });

  it('accepts a bare host:port and a list of servers', async () => {
    const bare = await conns.connect({ servers: `127.0.0.1:${server.port}` });
    expect(bare.isConnected).toBe(true);
    const deadPort = await getFreePort();
    const list = await conns.connect({
      servers: [`nats://127.0.0.1:${deadPort}`, server.url],
      noRandomize: true,
    });
    expect(list.connectedUrl).toBe(server.url);
    expect(list.servers).toHaveLength(2);
  });

  it('announces its name, language and version to the server', async () => {
    const nc = await conns.connect({ servers: server.url, name: 'connect-spec' });
    const seen = await serverConnection(server.monitorUrl!, nc.clientId!);
    expect(seen?.name).toBe('connect-spec');
    expect(seen?.lang).toBeTruthy();
    expect(seen?.version).toBeTruthy();
  });

  it('does not receive its own publishes with noEcho', async () => {
    const nc = await conns.connect({ servers: server.url, noEcho: true });
    const other = await conns.connect({ servers: server.url });
    const own = nc.subscribe('echo.test');
    const foreign = other.subscribe('echo.test');
    await Promise.all([nc.flush(), other.flush()]);
    nc.publish('echo.test', 'from-nc');
    other.publish('echo.test', 'from-other');
    await Promise.all([nc.flush(), other.flush()]);
    expect((await own.nextMsg()).string()).toBe('from-other');
    await expect(own.nextMsg(100)).rejects.toMatchObject({ code: 'TIMEOUT' });
    const both = await take(foreign, 2);
    expect(both.map((m) => m.string()).sort()).toEqual(['from-nc', 'from-other']);
  });

  it('uses inboxPrefix for newInbox() and request reply subjects', async () => {
    const nc = await conns.connect({ servers: server.url, inboxPrefix: 'my.inbox' });
    expect(nc.newInbox()).toMatch(/^my\.inbox\.[A-Za-z0-9]+$/);
    expect(nc.newInbox()).not.toBe(nc.newInbox());
    nc.subscribe('prefix.svc', { callback: (m) => m.respond(m.reply) });
    const reply = await nc.request('prefix.svc', 'x');
    expect(reply.string()).toMatch(/^my\.inbox\./);
  });

  it('works with verbose and pedantic turned on', async () => {
    const nc = await conns.connect({ servers: server.url, verbose: true, pedantic: true });
    const sub = nc.subscribe('verbose.test');
    nc.publish('verbose.test', 'ok');
    await nc.flush();
    expect((await sub.nextMsg()).string()).toBe('ok');
    expect(nc.isConnected).toBe(true);
  });

  it('rejects with ConnectionError when nothing listens on the port', async () => {
    const port = await getFreePort();
    const { ms, value: err } = await timed(() =>
      rejection(connect({ servers: `nats://127.0.0.1:${port}`, timeout: 1000 })),
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toBeInstanceOf(NatsError);
    expect((err as ConnectionError).code).toBe('CONNECTION_ERROR');
    expect(ms).toBeLessThan(1000);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a negative timeout', { timeout: -1 }],
    ['a non-numeric pingInterval', { pingInterval: 'often' }],
    ['an empty server list', { servers: [] }],
    ['a user without a password', { user: 'alice' }],
    ['two authentication methods', { token: 't', nkeySeed: 'SUAAA' }],
    ['a wildcard inbox prefix', { inboxPrefix: '_INBOX.*' }],
  ])('rejects %s with InvalidOptionError', async (_name, opts) => {
    const err = await rejection(connect({ servers: server.url, ...opts }));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('INVALID_OPTION');
  });
});

describe('closing', () => {
  it('resolves closed() with undefined and calls onClose on a clean close', async () => {
    const closes: Array<Error | undefined> = [];
    const nc = await conns.connect({ servers: server.url, onClose: (err) => closes.push(err) });
    await nc.close();
    await expect(nc.closed()).resolves.toBeUndefined();
    expect(nc.isClosed).toBe(true);
    expect(nc.isConnected).toBe(false);
    expect(closes).toEqual([undefined]);
    await nc.close(); // idempotent
    expect(closes).toEqual([undefined]);
  });

  it('yields a close event from status() and then ends the iterator', async () => {
    const nc = await conns.connect({ servers: server.url });
    const events: Status[] = [];
    const reading = (async () => {
      for await (const s of nc.status()) events.push(s);
    })();
    await nc.close();
    await reading;
    expect(events.at(-1)).toEqual({ type: 'close', error: undefined });
  });

  it('returns an iterator that ends at once from status() after close', async () => {
    const nc = await conns.connect({ servers: server.url });
    await nc.close();
    const it = nc.status();
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('reconnecting', () => {
  it('reports disconnect and reconnect through status() and the callbacks', async () => {
    const disconnects: string[] = [];
    const reconnects: string[] = [];
    const nc = await conns.connect({
      servers: server.url,
      reconnectTimeWait: 50,
      reconnectJitter: 0,
      onDisconnect: (url) => disconnects.push(url),
      onReconnect: (url) => reconnects.push(url),
    });
    const sub = nc.subscribe('reconnect.test');
    await nc.flush();
    const events: Status['type'][] = [];
    const reconnected = (async () => {
      for await (const s of nc.status()) {
        events.push(s.type);
        if (s.type === 'reconnect') return;
      }
    })();
    await server.restart();
    await reconnected;
    expect(events[0]).toBe('disconnect');
    expect(events).toContain('reconnecting');
    expect(events.at(-1)).toBe('reconnect');
    expect(disconnects).toEqual([server.url]);
    expect(reconnects).toEqual([server.url]);
    expect(nc.stats().reconnects).toBe(1);
    // The subscription was replayed on the new server.
    nc.publish('reconnect.test', 'after');
    expect((await sub.nextMsg()).string()).toBe('after');
  });
});

describe('waitOnFirstConnect', () => {
  it('resolves before the server is up, buffers, and reports the first connect as connect', async () => {
    await server.kill('SIGTERM');
    const nc = await conns.connect({
      servers: server.url,
      waitOnFirstConnect: true,
      reconnectTimeWait: 50,
      reconnectJitter: 0,
    });
    expect(nc.isConnected).toBe(false);
    const sub = nc.subscribe('first.connect');
    nc.publish('first.connect', 'buffered');
    const events = nc.status();
    await server.restart();
    let ev: IteratorResult<Status>;
    do ev = await events.next();
    while (!ev.done && ev.value.type !== 'connect' && ev.value.type !== 'reconnect');
    await events.return?.();
    expect((await sub.nextMsg()).string()).toBe('buffered');
    expect(nc.isConnected).toBe(true);
    // Nothing had connected before: this is the first connect, not a reconnect.
    expect(ev.done ? undefined : ev.value).toEqual({ type: 'connect', server: server.url });
    expect(nc.stats().reconnects).toBe(0);
  });
});
