// subscribe() against a real nats-server: callbacks, iterators, nextMsg, wildcards, queue groups,
// auto-unsubscribe enforced by the server, subscription drain and the pending counters.
import {
  DEFAULT_JS_SUB_PENDING_BYTES_LIMIT,
  DEFAULT_JS_SUB_PENDING_MSGS_LIMIT,
  DEFAULT_SUB_PENDING_BYTES_LIMIT,
  DEFAULT_SUB_PENDING_MSGS_LIMIT,
  TimeoutError,
  type Msg,
  type NatsConnection,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import {
  Connections,
  rejection,
  serverSubscriptions,
  take,
  timed,
  waitUntil,
} from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let pub: NatsConnection;

beforeAll(async () => {
  server = await startServer({ monitor: true });
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  pub = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

/** Publishes `n` messages `0..n-1` from the publisher connection and flushes them. */
async function publishN(subject: string, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) pub.publish(subject, String(i));
  await pub.flush();
}

describe('delivery', () => {
  it('calls a callback with each message', async () => {
    const got: string[] = [];
    const s = nc.subscribe('sub.cb', { callback: (m) => void got.push(m.string()) });
    expect(s.subject).toBe('sub.cb');
    expect(typeof s.sid).toBe('number');
    await nc.flush();
    await publishN('sub.cb', 5);
    await waitUntil(() => got.length === 5);
    expect(got).toEqual(['0', '1', '2', '3', '4']);
  });

  it('yields messages to for-await until the subscription is unsubscribed', async () => {
    const s = nc.subscribe('sub.iter');
    await nc.flush();
    await publishN('sub.iter', 3);
    const got: string[] = [];
    for await (const m of s) {
      got.push(m.string());
      if (got.length === 3) s.unsubscribe();
    }
    expect(got).toEqual(['0', '1', '2']);
    expect(s.isClosed).toBe(true);
    await expect(s.closed).resolves.toBeUndefined();
  });

  it('matches * and > wildcards', async () => {
    const star = nc.subscribe('sub.wild.*');
    const gt = nc.subscribe('sub.wild.>');
    await nc.flush();
    pub.publish('sub.wild.a', '1');
    pub.publish('sub.wild.a.b', '2');
    await pub.flush();
    expect((await take(star, 1)).map((m) => m.subject)).toEqual(['sub.wild.a']);
    expect((await take(gt, 2)).map((m) => m.subject)).toEqual(['sub.wild.a', 'sub.wild.a.b']);
    await expect(star.nextMsg(50)).rejects.toBeInstanceOf(TimeoutError);
  });

  it('rejects nextMsg() with TimeoutError after its timeout, and still receives later', async () => {
    const s = nc.subscribe('sub.next');
    await nc.flush();
    const { ms, value: err } = await timed(() => rejection(s.nextMsg(100)));
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe('TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(ms).toBeLessThan(1000);
    await publishN('sub.next', 1);
    expect((await s.nextMsg()).string()).toBe('0');
  });

  it('splits a queue group between its members, each message to exactly one', async () => {
    const counts = [0, 0];
    const other = await conns.connect({ servers: server.url });
    const all: Msg[] = [];
    nc.subscribe('sub.queue', { queue: 'workers', callback: () => void counts[0]!++ });
    other.subscribe('sub.queue', { queue: 'workers', callback: () => void counts[1]!++ });
    nc.subscribe('sub.queue', { callback: (m) => void all.push(m) });
    await Promise.all([nc.flush(), other.flush()]);
    const n = 200;
    await publishN('sub.queue', n);
    await waitUntil(() => counts[0]! + counts[1]! === n && all.length === n);
    await Promise.all([nc.flush(), other.flush()]);
    expect(counts[0]! + counts[1]!).toBe(n);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    expect(all).toHaveLength(n);
  });
});

describe('auto-unsubscribe', () => {
  it('sends max to the server: 3 of 10 messages arrive and closed resolves', async () => {
    const s = nc.subscribe('sub.max', { max: 3 });
    await nc.flush();
    await publishN('sub.max', 10);
    await nc.flush();
    const got: string[] = [];
    for await (const m of s) got.push(m.string());
    expect(got).toEqual(['0', '1', '2']);
    await expect(s.closed).resolves.toBeUndefined();
    expect(s.isClosed).toBe(true);
    expect(s.delivered).toBe(3);
    // The server stopped sending after 3: nothing else reached the socket.
    expect(nc.stats().inMsgs).toBe(3);
    expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).toEqual([]);
  });

  it('honours unsubscribe(limit) counted from the first message', async () => {
    const got: string[] = [];
    const s = nc.subscribe('sub.limit', { callback: (m) => void got.push(m.string()) });
    await nc.flush();
    await publishN('sub.limit', 2);
    await waitUntil(() => got.length === 2);
    s.unsubscribe(5);
    await nc.flush();
    await publishN('sub.limit', 10, 2);
    await s.closed;
    await nc.flush();
    expect(got).toEqual(['0', '1', '2', '3', '4']);
    expect(nc.stats().inMsgs).toBe(5);
    expect(s.isClosed).toBe(true);
    expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).toEqual([]);
  });

  it('unsubscribes at once when unsubscribe(limit) is at or below what was delivered', async () => {
    const s = nc.subscribe('sub.limit.low');
    await nc.flush();
    await publishN('sub.limit.low', 3);
    await nc.flush();
    s.unsubscribe(2);
    await s.closed;
    expect(s.isClosed).toBe(true);
    await nc.flush();
    expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).toEqual([]);
  });

  it('removes the subscription from the server on unsubscribe()', async () => {
    const s = nc.subscribe('sub.unsub');
    await nc.flush();
    expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).toEqual(['sub.unsub']);
    s.unsubscribe();
    await nc.flush();
    expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).toEqual([]);
    await publishN('sub.unsub', 3);
    await nc.flush();
    expect(nc.stats().inMsgs).toBe(0);
  });
});

describe('subscription drain', () => {
  it('keeps received messages readable, then ends and stops new deliveries', async () => {
    const s = nc.subscribe('sub.drain');
    await nc.flush();
    await publishN('sub.drain', 4);
    await nc.flush();
    const drained = s.drain();
    expect(s.isDraining).toBe(true);
    await drained;
    await expect(s.closed).resolves.toBeUndefined();
    await publishN('sub.drain', 4, 4);
    await nc.flush();
    const got: string[] = [];
    for await (const m of s) got.push(m.string());
    expect(got).toEqual(['0', '1', '2', '3']);
    expect(nc.stats().inMsgs).toBe(4);
    // The connection and other subscriptions carry on.
    const next = nc.subscribe('sub.drain.after');
    await nc.flush();
    await publishN('sub.drain.after', 1);
    expect((await next.nextMsg()).string()).toBe('0');
  });
});

describe('pending counters', () => {
  it('exposes the default pending limits from the design', () => {
    expect(DEFAULT_SUB_PENDING_MSGS_LIMIT).toBe(512 * 1024);
    expect(DEFAULT_SUB_PENDING_BYTES_LIMIT).toBe(128 * 1024 * 1024);
    expect(DEFAULT_JS_SUB_PENDING_MSGS_LIMIT).toBe(512 * 1024);
    expect(DEFAULT_JS_SUB_PENDING_BYTES_LIMIT).toBe(256 * 1024 * 1024);
  });

  it('tracks pendingMsgs, pendingBytes, delivered and dropped', async () => {
    const s = nc.subscribe('sub.pending');
    await nc.flush();
    expect([s.pendingMsgs, s.pendingBytes, s.delivered, s.dropped]).toEqual([0, 0, 0, 0]);
    pub.publish('sub.pending', 'aaaa');
    pub.publish('sub.pending', 'bbbbbb');
    await pub.flush();
    await nc.flush();
    expect([s.pendingMsgs, s.pendingBytes, s.delivered, s.dropped]).toEqual([2, 10, 2, 0]);
    await s.nextMsg();
    expect([s.pendingMsgs, s.pendingBytes]).toEqual([1, 6]);
    await s.nextMsg();
    expect([s.pendingMsgs, s.pendingBytes, s.delivered]).toEqual([0, 0, 2]);
  });

  it('drops what exceeds pendingBytesLimit and counts it', async () => {
    const s = nc.subscribe('sub.bytes', { pendingBytesLimit: 100 });
    await nc.flush();
    for (let i = 0; i < 5; i++) pub.publish('sub.bytes', 'x'.repeat(40));
    await pub.flush();
    await nc.flush();
    expect(s.pendingMsgs).toBe(2);
    expect(s.pendingBytes).toBe(80);
    expect(s.delivered).toBe(5);
    expect(s.dropped).toBe(3);
  });
});

describe('memory of queued messages', () => {
  it('does not pin whole socket chunks for small messages waiting in a queue', async () => {
    const other = pub;
    {
      const slow = nc.subscribe('mem.sparse');
      let busy = 0;
      nc.subscribe('mem.busy', { callback: () => void busy++ });
      await nc.flush();
      // One small message for the queue between large bursts of other traffic.
      const filler = new Uint8Array(8 * 1024);
      for (let i = 0; i < 200; i++) {
        other.publish('mem.sparse', `m${i}`);
        for (let j = 0; j < 8; j++) other.publish('mem.busy', filler);
      }
      await other.flush();
      await nc.flush();
      expect(slow.pendingMsgs).toBe(200);
      for (let i = 0; i < 200; i++) {
        const m = await slow.nextMsg(1000);
        // A copy in memory of its own, not a view of a 64 KiB read chunk, nor of a Buffer pool
        // slab (64 KiB from Node 24) shared with whatever else was allocated meanwhile.
        expect(m.data.buffer.byteLength).toBeLessThanOrEqual(4 * m.data.byteLength + 1024);
      }
      expect(busy).toBe(1600);
    }
  });
});
