// subscribe() against a real nats-server: callbacks, iterators, nextMsg, wildcards, queue groups,
// auto-unsubscribe enforced by the server, subscription drain and the pending counters.
import {
  DEFAULT_JS_SUB_PENDING_BYTES_LIMIT,
  DEFAULT_JS_SUB_PENDING_MSGS_LIMIT,
  DEFAULT_SUB_PENDING_BYTES_LIMIT,
  DEFAULT_SUB_PENDING_MSGS_LIMIT,
  InvalidOptionError,
  type Msg,
  type NatsConnection,
  NatsError,
  SlowConsumerError,
  type Subscription,
  TimeoutError,
} from '../../lib/core/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import {
  Connections,
  rejection,
  serverSubscriptions,
  take,
  thrown,
  timed,
  waitUntil,
} from './core-helpers.js';
import { orHang } from './resilience-helpers.js';

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
    nc.subscribe('sub.queue', { queue: 'workers', callback: () => void counts[0]++ });
    other.subscribe('sub.queue', { queue: 'workers', callback: () => void counts[1]++ });
    nc.subscribe('sub.queue', { callback: (m) => void all.push(m) });
    await Promise.all([nc.flush(), other.flush()]);
    const n = 200;
    await publishN('sub.queue', n);
    await waitUntil(() => counts[0] + counts[1] === n && all.length === n);
    await Promise.all([nc.flush(), other.flush()]);
    expect(counts[0] + counts[1]).toBe(n);
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
      // Each message's bytes sit either in a 16 KiB block that holds only this queue's copies
      // (CopyArena), or, when its read chunk was small anyway (not much larger than the message),
      // in that chunk: never in a 64 KiB read chunk, nor in a Buffer pool slab (64 KiB from Node
      // 24) shared with whatever else was allocated meanwhile.
      const blocks = new Set<ArrayBufferLike>();
      for (let i = 0; i < 200; i++) {
        const m = await slow.nextMsg(1000);
        const size = m.data.buffer.byteLength;
        if (size === 16 * 1024) blocks.add(m.data.buffer);
        else expect(size).toBeLessThanOrEqual(4 * m.data.byteLength + 1024);
      }
      expect(blocks.size).toBeLessThanOrEqual(1); // 200 small copies fit one block
      expect(busy).toBe(1600);
    }
  });
});

// Iterators broken out of, unsubscribe and drain from callbacks, nextMsg races and pending limits,
// on a subscriber that records its errors.
describe('iterators, callbacks, races and limits', () => {
  let server: NatsServerHandle;
  const conns = new Connections();
  let nc: NatsConnection;
  let pub: NatsConnection;
  let errors: NatsError[];

  beforeAll(async () => {
    server = await startServer({ monitor: true });
  });
  beforeEach(async () => {
    errors = [];
    nc = await conns.connect({ servers: server.url, onError: (e) => void errors.push(e) });
    pub = await conns.connect({ servers: server.url });
  });
  afterEach(() => conns.closeAll());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function publishN(subject: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) pub.publish(subject, String(i));
    await pub.flush();
  }

  describe('iterators', () => {
    it('keeps the connection and other subscriptions working after a for-await breaks early', async () => {
      const a = nc.subscribe('it.break');
      const other = nc.subscribe('it.other');
      await nc.flush();
      await publishN('it.break', 5);
      const got: string[] = [];
      for await (const m of a) {
        got.push(m.string());
        if (got.length === 2) break;
      }
      expect(got).toEqual(['0', '1']);
      // The remaining queued messages are still there for a new reader.
      const rest: string[] = [];
      for await (const m of a) {
        rest.push(m.string());
        if (rest.length === 3) break;
      }
      expect(rest).toEqual(['2', '3', '4']);
      pub.publish('it.other', 'x');
      expect((await other.nextMsg()).string()).toBe('x');
      expect(nc.isConnected).toBe(true);
    });

    it('propagates an error thrown in a for-await body and keeps the connection working', async () => {
      const a = nc.subscribe('it.throw');
      await nc.flush();
      await publishN('it.throw', 3);
      const run = async () => {
        for await (const m of a) {
          if (m.string() === '1') throw new Error('consumer boom');
        }
      };
      await expect(run()).rejects.toThrow('consumer boom');
      // The subscription and connection remain usable.
      expect((await a.nextMsg(500)).string()).toBe('2');
      pub.publish('it.throw', 'after');
      expect((await a.nextMsg(500)).string()).toBe('after');
      expect(nc.isConnected).toBe(true);
    });

    it('two concurrent nextMsg() calls: the later one still gets a message published after the earlier one timed out', async () => {
      const s = nc.subscribe('race.next2');
      await nc.flush();
      const first = s.nextMsg(50);
      const second = s.nextMsg(1500);
      await expect(first).rejects.toBeInstanceOf(TimeoutError);
      pub.publish('race.next2', 'hello');
      await pub.flush();
      const out = await second.then(
        (m) => m.string(),
        (e: Error) => `rejected: ${e.name}: ${e.message}`,
      );
      expect(out).toBe('hello');
    });

    it('a for-await reader still receives after a concurrent nextMsg() times out', async () => {
      const s = nc.subscribe('race.iter');
      await nc.flush();
      const it = s[Symbol.asyncIterator]();
      const pending = it.next();
      await sleep(10);
      await expect(s.nextMsg(30)).rejects.toBeInstanceOf(TimeoutError);
      pub.publish('race.iter', 'for-the-iterator');
      await pub.flush();
      await nc.flush();
      const r = await orHang(pending, 1000);
      expect(r === 'hang' ? 'iterator hung' : (r.value as Msg).string()).toBe('for-the-iterator');
      s.unsubscribe();
    });
  });

  describe('unsubscribe and drain from callbacks', () => {
    it('delivers nothing more to a callback after it unsubscribes itself mid-burst', async () => {
      const got: number[] = [];
      const s = nc.subscribe('cb.unsub', {
        callback: (m) => {
          got.push(Number(m.string()));
          if (got.length === 10) s.unsubscribe();
        },
      });
      await nc.flush();
      await publishN('cb.unsub', 200);
      await nc.flush();
      await sleep(50);
      expect(got).toHaveLength(10);
      expect(s.isClosed).toBe(true);
      await expect(s.closed).resolves.toBeUndefined();
      expect(await serverSubscriptions(server.monitorUrl!, nc.clientId!)).not.toContain('cb.unsub');
    });

    it('stops delivering to another subscription unsubscribed from a callback mid-burst', async () => {
      let victimCount = 0;
      let killerCount = 0;
      let victimAtUnsub = -1;
      const victim = nc.subscribe('cb.other', { callback: () => void victimCount++ });
      nc.subscribe('cb.other', {
        callback: () => {
          killerCount++;
          if (killerCount === 5) {
            victim.unsubscribe();
            victimAtUnsub = victimCount;
          }
        },
      });
      await nc.flush();
      await publishN('cb.other', 100);
      await nc.flush();
      await waitUntil(() => killerCount === 100);
      // The server's order between two subscriptions of one connection is not fixed: 4 or 5.
      expect(victimAtUnsub).toBeGreaterThanOrEqual(4);
      expect(victimCount).toBe(victimAtUnsub);
      expect(victim.isClosed).toBe(true);
    });

    it('delivers every message already sent when a callback drains its own subscription', async () => {
      const got: string[] = [];
      let drainP: Promise<void> | undefined;
      // "Already sent" means routed by the server: only once the publisher's flush returned are
      // all 100 on their way to us, so the callback drains at the first message after that.
      let routed = false;
      const s = nc.subscribe('cb.drain', {
        callback: (m) => {
          got.push(m.string());
          if (routed && drainP === undefined) drainP = s.drain();
        },
      });
      await nc.flush();
      await publishN('cb.drain', 100);
      routed = true;
      await waitUntil(() => drainP !== undefined || got.length === 100);
      drainP ??= s.drain();
      await drainP;
      expect(got).toHaveLength(100);
      expect(s.isClosed).toBe(true);
      pub.publish('cb.drain', 'late');
      await pub.flush();
      await nc.flush();
      expect(got).toHaveLength(100);
    });

    it('raises a max auto-unsubscribe limit with unsubscribe(limit) later', async () => {
      const s = nc.subscribe('max.raise', { max: 5 });
      await nc.flush();
      await publishN('max.raise', 2);
      s.unsubscribe(10);
      await nc.flush();
      await publishN('max.raise', 20);
      const got = await take(s, 10, 1000);
      expect(got).toHaveLength(10);
      await expect(s.closed).resolves.toBeUndefined();
      expect(s.delivered).toBe(10);
    });

    it('rejects a non-integer unsubscribe(limit) like subscribe({ max }) does', async () => {
      const s = nc.subscribe('max.frac');
      await nc.flush();
      let threw: unknown;
      try {
        s.unsubscribe(2.5);
      } catch (e) {
        threw = e;
      }
      await nc.flush();
      await publishN('max.frac', 2);
      const first = await s.nextMsg(300).then(
        (m) => m.string(),
        (e: Error) => `rejected: ${e.name}`,
      );
      // Either refused with InvalidOptionError, or accepted and then messages below the limit arrive.
      expect({
        threw: threw instanceof InvalidOptionError,
        first,
        isClosed: s.isClosed,
        serverSubs: await serverSubscriptions(server.monitorUrl!, nc.clientId!),
      }).toEqual({ threw: true, first: '0', isClosed: false, serverSubs: ['max.frac'] });
    });
  });

  describe('nextMsg races', () => {
    it('rejects a waiting nextMsg() promptly when the subscription is unsubscribed', async () => {
      const s = nc.subscribe('next.unsub');
      await nc.flush();
      const start = Date.now();
      const p = s.nextMsg(3000);
      setTimeout(() => s.unsubscribe(), 20);
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NatsError);
      expect(Date.now() - start).toBeLessThan(1000);
    });

    it('rejects a waiting nextMsg() promptly when the connection closes', async () => {
      const s = nc.subscribe('next.close');
      await nc.flush();
      const start = Date.now();
      const p = s.nextMsg(3000);
      setTimeout(() => void nc.close(), 20);
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NatsError);
      expect(Date.now() - start).toBeLessThan(1000);
    });

    it('keeps queued messages readable after the connection closes', async () => {
      const s = nc.subscribe('next.queued');
      await nc.flush();
      await publishN('next.queued', 3);
      await nc.flush();
      await nc.close();
      const got = await take(s, 3, 200);
      expect(got.map((m) => m.string())).toEqual(['0', '1', '2']);
      await expect(s.nextMsg(50)).rejects.toBeInstanceOf(NatsError);
    });
  });

  describe('pending limits', () => {
    it('rejects a negative or zero pendingMsgsLimit instead of silently dropping everything', async () => {
      let threw: unknown;
      let s: Subscription | undefined;
      try {
        s = nc.subscribe('limits.neg', { pendingMsgsLimit: -1 });
      } catch (e) {
        threw = e;
      }
      if (threw) {
        expect(threw).toBeInstanceOf(InvalidOptionError);
        return;
      }
      await nc.flush();
      await publishN('limits.neg', 3);
      await nc.flush();
      // Accepted: then it must deliver.
      expect({ pending: s!.pendingMsgs, dropped: s!.dropped }).toEqual({ pending: 3, dropped: 0 });
    });

    it('reports a second slow-consumer episode after the queue was emptied, with exact drop counts', async () => {
      const s = nc.subscribe('limits.episodes', { pendingMsgsLimit: 3 });
      await nc.flush();
      await publishN('limits.episodes', 10);
      await nc.flush();
      expect(s.dropped).toBe(7);
      expect(errors.filter((e) => e instanceof SlowConsumerError)).toHaveLength(1);
      await take(s, 3);
      await publishN('limits.episodes', 5);
      await nc.flush();
      expect(s.dropped).toBe(9);
      expect(s.delivered).toBe(15);
      expect(errors.filter((e) => e instanceof SlowConsumerError)).toHaveLength(2);
      expect((await take(s, 3)).map((m) => m.string())).toEqual(['0', '1', '2']);
      expect(nc.isConnected).toBe(true);
    });

    it('nextMsg() on a callback subscription throws InvalidOperationError', async () => {
      const s = nc.subscribe('limits.cb', { callback: () => undefined });
      const err = await s.nextMsg(10).catch((e: unknown) => e);
      expect((err as NatsError).code).toBe('INVALID_OPERATION');
      expect(thrown(() => nc.subscribe('x', { max: 1.5 }))).toBeInstanceOf(InvalidOptionError);
    });
  });
});
