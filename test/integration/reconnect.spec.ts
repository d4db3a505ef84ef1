// Reconnect behaviour against a real nats-server that is killed and restarted on the same port.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionClosedError,
  ConnectionError,
  ReconnectBufferFullError,
  TimeoutError,
  connect,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
  type Status,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

afterAll(stopAllServers);

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

const FAST: ConnectOptions = { reconnectTimeWait: 50, reconnectJitter: 10 };

async function client(server: NatsServerHandle, opts: ConnectOptions = {}) {
  const nc = await connect({ servers: server.url, ...FAST, ...opts });
  open.push(nc);
  return nc;
}

type Seen = { at: number; status: Status };

/** Records every status event with the time it was seen. */
function watch(nc: NatsConnection): { seen: Seen[]; count(type: Status['type']): number } {
  const seen: Seen[] = [];
  void (async () => {
    for await (const status of nc.status()) seen.push({ at: performance.now(), status });
  })();
  return { seen, count: (type) => seen.filter((s) => s.status.type === type).length };
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

async function kill(server: NatsServerHandle, ...watched: Array<ReturnType<typeof watch>>) {
  await server.kill();
  await waitUntil(() => watched.every((w) => w.count('disconnect') === 1), 'disconnect');
}

function expectError(err: unknown, type: new (...a: never[]) => NatsError, code: string): void {
  expect(err).toBeInstanceOf(type);
  expect((err as NatsError).code).toBe(code);
}

describe('reconnect', () => {
  it('reports disconnect, reconnecting and reconnect through status() and callbacks', async () => {
    const server = await startServer();
    const calls: string[] = [];
    const nc = await client(server, {
      onDisconnect: (s) => calls.push(`disconnect ${s}`),
      onReconnect: (s) => calls.push(`reconnect ${s}`),
      onClose: (err) => calls.push(`close ${err === undefined ? 'clean' : err.message}`),
    });
    const w = watch(nc);
    const sub = nc.subscribe('resume');
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
    const types = w.seen.map((s) => s.status.type);
    expect(types).toEqual(['disconnect', ...types.slice(1, -1).fill('reconnecting'), 'reconnect']);
    expect(w.seen[0].status).toMatchObject({ type: 'disconnect', server: server.url });
    expect(w.seen.at(-1)!.status).toEqual({ type: 'reconnect', server: server.url });
    expect(calls).toEqual([`disconnect ${server.url}`, `reconnect ${server.url}`]);
    expect(nc.stats().reconnects).toBe(1);
    expect(nc.connectedUrl).toBe(server.url);
    nc.publish('resume', 'still here');
    expect((await sub.nextMsg(2000)).string()).toBe('still here');
    await nc.close();
    await waitUntil(() => w.count('close') === 1, 'close event');
    expect(calls.at(-1)).toBe('close clean');
  });

  it('retries at once after a disconnect, then waits reconnectTimeWait plus jitter', async () => {
    const server = await startServer();
    const nc = await client(server, { reconnectTimeWait: 200, reconnectJitter: 100 });
    const w = watch(nc);
    await server.kill();
    await waitUntil(() => w.count('reconnecting') >= 4, 'four reconnect attempts', 4000);
    const disconnectAt = w.seen.find((s) => s.status.type === 'disconnect')!.at;
    const attempts = w.seen.filter((s) => s.status.type === 'reconnecting').map((s) => s.at);
    expect(attempts[0] - disconnectAt).toBeLessThan(100);
    const gaps = attempts.slice(1, 4).map((at, i) => Math.round(at - attempts[i]));
    expect(gaps.filter((gap) => gap < 190 || gap >= 200 + 100 + 100)).toEqual([]);
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
  });

  it('keeps retrying past the default limit with -1 attempts and a custom delay', async () => {
    const server = await startServer();
    const asked: number[] = [];
    const nc = await client(server, {
      maxReconnectAttempts: -1,
      reconnectDelayHandler: (attempt) => asked.push(attempt) && 5,
    });
    const w = watch(nc);
    await server.kill();
    await waitUntil(() => w.count('reconnecting') > 70, 'more than 70 attempts', 8000);
    expect(nc.isClosed).toBe(false);
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
    expect(asked.length).toBeGreaterThan(60);
    expect(asked.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('gives up after maxReconnectAttempts per server and closes with the last error', async () => {
    const server = await startServer();
    let closedWith: unknown = 'not called';
    const nc = await client(server, { maxReconnectAttempts: 3, onClose: (e) => (closedWith = e) });
    const w = watch(nc);
    await server.kill();
    const err = await nc.closed();
    expectError(err, ConnectionError, 'CONNECTION_ERROR');
    expect(closedWith).toBe(err);
    await waitUntil(() => w.count('close') === 1, 'close event');
    expect(w.count('reconnecting')).toBe(3);
    expect(w.seen.at(-1)!.status).toEqual({ type: 'close', error: err });
    expect(nc.isClosed).toBe(true);
    expect(() => nc.publish('after.close')).toThrow(ConnectionClosedError);
    await expect(nc.request('after.close')).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('replays subscriptions, queue groups, unsubscribe limits and the request mux before buffered publishes', async () => {
    const server = await startServer();
    const nc = await client(server);
    const other = await client(server);
    const w = watch(nc);
    const wo = watch(other);
    const echo = nc.subscribe('replay.echo');
    const queued: string[] = [];
    nc.subscribe('replay.q', { queue: 'workers', callback: (m) => queued.push(`a${m.string()}`) });
    nc.subscribe('replay.q', { queue: 'workers', callback: (m) => queued.push(`b${m.string()}`) });
    const limited = nc.subscribe('replay.max', { max: 5 });
    nc.subscribe('replay.svc', { callback: (m) => void m.respond(`re:${m.string()}`) });
    expect((await nc.request('replay.svc', 'before')).string()).toBe('re:before');
    ['m0', 'm1'].forEach((m) => void other.publish('replay.max', m));
    await other.flush();
    await waitUntil(() => limited.delivered === 2, 'two limited messages');
    await kill(server, w, wo);
    for (let i = 0; i < 3; i++) nc.publish('replay.echo', `buffered-${i}`);
    const reply = nc.request('replay.svc', 'during', { timeout: 5000 });
    await server.restart();
    await waitUntil(() => w.count('reconnect') + wo.count('reconnect') === 2, 'reconnects');
    // The SUBs went out before the buffered PUBs, so the connection hears its own publishes.
    for (let i = 0; i < 3; i++) expect((await echo.nextMsg(2000)).string()).toBe(`buffered-${i}`);
    expect((await reply).string()).toBe('re:during');
    await nc.flush();
    for (let i = 0; i < 10; i++) other.publish('replay.q', String(i));
    await other.flush();
    await waitUntil(() => queued.length >= 10, 'queue group deliveries');
    const before = nc.stats().inMsgs;
    for (let i = 0; i < 10; i++) other.publish('replay.max', `n${i}`);
    await other.flush();
    await nc.flush();
    await sleep(50);
    // One delivery per message: both members are still in the same queue group.
    expect(queued).toHaveLength(10);
    // The server was told the remaining count (3), not the original 5 or nothing.
    expect(nc.stats().inMsgs - before).toBe(3);
    expect(limited.delivered).toBe(5);
    await expect(limited.closed).resolves.toBeUndefined();
  });

  it('delivers publishes buffered while down after a restart on the same port, in order, once', async () => {
    const server = await startServer();
    const nc = await client(server);
    const w = watch(nc);
    const got: number[] = [];
    nc.subscribe('buffered.seq', { callback: (m) => got.push(Number(m.string())) });
    await nc.flush();
    await kill(server, w);
    for (let i = 0; i < 2000; i++) nc.publish('buffered.seq', String(i));
    await server.restart();
    await waitUntil(() => got.length >= 2000, 'all buffered messages');
    await nc.flush();
    await sleep(50);
    expect(got).toEqual(range(2000));
  });

  it('loses nothing published after the disconnect while a publisher is busy across a restart', async () => {
    const server = await startServer();
    let seq = 0;
    let firstBuffered = -1;
    const nc = await client(server, { onDisconnect: () => (firstBuffered = seq) });
    const w = watch(nc);
    const got: number[] = [];
    nc.subscribe('busy.seq', { callback: (m) => got.push(Number(m.string())) });
    await nc.flush();
    let running = true;
    const publisher = (async () => {
      while (running) {
        for (let i = 0; i < 10; i++) await nc.publish('busy.seq', String(seq++));
        await sleep(1);
      }
    })();
    await waitUntil(() => got.length > 200, 'traffic before the restart');
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
    await waitUntil(() => got.length > 0 && got.at(-1)! > firstBuffered + 200, 'traffic after');
    running = false;
    await publisher;
    await nc.flush();
    await sleep(50);
    expect(firstBuffered).toBeGreaterThan(0);
    // No duplicates and no reordering; everything published after the disconnect arrived.
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]);
    expect(got.filter((n) => n >= firstBuffered)).toEqual(
      range(seq - firstBuffered, firstBuffered),
    );
  });

  it('refuses publishes with ReconnectBufferFullError when the buffer is full, then recovers', async () => {
    const server = await startServer();
    const nc = await client(server, { reconnectBufferSize: 4096 });
    const w = watch(nc);
    const got: string[] = [];
    nc.subscribe('full.seq', { callback: (m) => got.push(m.string()) });
    await nc.flush();
    await kill(server, w);
    const payload = 'x'.repeat(100);
    let accepted = 0;
    let refused: unknown;
    while (refused === undefined && accepted < 1000) {
      try {
        nc.publish('full.seq', `${accepted}:${payload}`);
        accepted++;
      } catch (err) {
        refused = err;
      }
    }
    expectError(refused, ReconnectBufferFullError, 'RECONNECT_BUFFER_FULL');
    expect((refused as Error).message).toMatch(/reconnect buffer/i);
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(4096 / 100);
    expect(() => nc.publish('full.seq', payload)).toThrow(ReconnectBufferFullError);
    await server.restart();
    await waitUntil(() => got.length === accepted, 'the accepted publishes');
    expect(got.map((s) => Number(s.split(':')[0]))).toEqual(range(accepted));
    nc.publish('full.seq', 'after');
    await waitUntil(() => got.at(-1) === 'after', 'a publish after the reconnect');
  });

  it('lets requests made while reconnecting wait for the connection, within their timeout', async () => {
    const server = await startServer();
    const nc = await client(server);
    const w = watch(nc);
    nc.subscribe('svc.echo', { callback: (m) => void m.respond(`pong ${m.string()}`) });
    await nc.flush();
    await kill(server, w);
    const started = Date.now();
    const err = await nc.request('svc.echo', 'a', { timeout: 300 }).catch((e: unknown) => e);
    expectError(err, TimeoutError, 'TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(1500);
    const waiting = nc.request('svc.echo', 'b', { timeout: 5000 });
    await sleep(100);
    await server.restart();
    expect((await waiting).string()).toBe('pong b');
  });

  it('fails pending requests fast with ConnectionClosedError on close() or when giving up', async () => {
    const server = await startServer();
    const nc = await client(server);
    nc.subscribe('svc.silent'); // listens but never answers, so no 503
    await nc.flush();
    let started = Date.now();
    const pending = nc.request('svc.silent', '', { timeout: 10_000 }).catch((e: unknown) => e);
    await nc.close();
    expectError(await pending, ConnectionClosedError, 'CONNECTION_CLOSED');
    expect(Date.now() - started).toBeLessThan(2000);
    const nc2 = await client(server, { maxReconnectAttempts: 2, reconnectTimeWait: 100 });
    const w = watch(nc2);
    await kill(server, w);
    started = Date.now();
    const waiting = nc2.request('svc.any', '', { timeout: 10_000 }).catch((e: unknown) => e);
    const closedWith = await nc2.closed();
    const err = await waiting;
    expectError(err, ConnectionClosedError, 'CONNECTION_CLOSED');
    expect((err as Error).cause).toBe(closedWith);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
