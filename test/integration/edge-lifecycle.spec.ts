// Edge cases: close()/drain() combinations, closed() resolution, status events and exact stats.
import {
  ConnectionClosedError,
  ConnectionDrainingError,
  MsgHeaders,
  NatsError,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, take, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let other: NatsConnection;
let events: Status[];
let closes: Array<Error | undefined>;

beforeAll(async () => {
  server = await startServer({});
});
beforeEach(async () => {
  events = [];
  closes = [];
  nc = await conns.connect({ servers: server.url, onClose: (e) => void closes.push(e) });
  other = await conns.connect({ servers: server.url });
  void (async () => {
    for await (const s of nc.status()) events.push(s);
  })();
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('close()', () => {
  it('writes publishes buffered in the same tick before closing', async () => {
    let n = 0;
    other.subscribe('lc.buffered', { callback: () => void n++ });
    await other.flush();
    for (let i = 0; i < 5000; i++) nc.publish('lc.buffered', `m${i}`);
    await nc.close();
    await waitUntil(() => n === 5000, 2000, '5000 messages');
    expect(n).toBe(5000);
  });

  it('close() twice (concurrently and after) resolves, one close event, onClose once', async () => {
    const a = nc.close();
    const b = nc.close();
    await Promise.all([a, b]);
    await nc.close();
    expect(await nc.closed()).toBeUndefined();
    await sleep(10);
    expect(events.filter((e) => e.type === 'close')).toHaveLength(1);
    expect(closes).toEqual([undefined]);
    expect(nc.isClosed).toBe(true);
    expect(nc.isConnected).toBe(false);
    expect(() => nc.publish('x', 'y')).toThrow(ConnectionClosedError);
    await expect(nc.flush()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('drain() twice returns the same completion, then close() is a no-op', async () => {
    nc.subscribe('lc.d2', { callback: () => undefined });
    const d1 = nc.drain();
    const d2 = nc.drain();
    expect(nc.isDraining).toBe(true);
    await Promise.all([d1, d2]);
    await nc.close();
    expect(await nc.closed()).toBeUndefined();
    expect(closes).toEqual([undefined]);
  });

  it('close() during drain(): both settle, no unhandled rejections, pending request fails with ConnectionClosedError', async () => {
    other.subscribe('lc.slow', { callback: () => undefined }); // never answers
    await other.flush();
    const req = nc.request('lc.slow', 'x', { timeout: 3000 });
    const reqErr = req.catch((e: unknown) => e);
    const s = nc.subscribe('lc.iter');
    const d = nc.drain();
    await sleep(20);
    const c = nc.close();
    const results = await Promise.allSettled([d, c]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await reqErr).toBeInstanceOf(ConnectionClosedError);
    expect(s.isClosed).toBe(true);
    expect(closes).toHaveLength(1);
  });

  it('publish() after drain finished its subscriptions throws ConnectionDrainingError or ConnectionClosedError', async () => {
    const d = nc.drain();
    await d;
    const err = (() => {
      try {
        nc.publish('lc.after', 'x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NatsError);
    expect([ConnectionDrainingError, ConnectionClosedError].some((c) => err instanceof c)).toBe(
      true,
    );
  });

  it('a callback may still respond synchronously while the connection drains', async () => {
    let d: Promise<void> | undefined;
    nc.subscribe('lc.respond', {
      callback: (m) => {
        d = nc.drain();
        m.respond('answered');
      },
    });
    await nc.flush();
    const p = other.request('lc.respond', 'x', { timeout: 1000 });
    const out = await p.then(
      (m) => m.string(),
      (e: NatsError) => e.code,
    );
    await waitUntil(() => d !== undefined);
    await d;
    expect(out).toBe('answered');
  });

  it('drain() waits for a callback that returned a promise, so its reply still goes out', async () => {
    nc.subscribe('lc.async', {
      callback: async (m) => {
        await sleep(50);
        m.respond('answered late');
      },
    });
    await nc.flush();
    const p = other.request('lc.async', 'x', { timeout: 1000 });
    await sleep(5);
    await nc.drain();
    expect((await p).string()).toBe('answered late');
  });

  it('drain() called from inside a callback does not wait for that callback', async () => {
    let drained: Promise<void> | undefined;
    nc.subscribe('lc.self', {
      callback: async () => {
        drained = nc.drain();
        await drained;
      },
    });
    await nc.flush();
    other.publish('lc.self');
    const started = Date.now();
    await waitUntil(() => drained !== undefined);
    await drained;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(nc.isClosed).toBe(true);
  });

  it('drain() cannot wait for work a callback started without returning its promise', async () => {
    let lateErr: unknown;
    nc.subscribe('lc.respond2', {
      callback: (m) => {
        setTimeout(() => {
          try {
            m.respond('answered');
          } catch (e) {
            lateErr = e;
          }
        }, 30);
      },
    });
    await nc.flush();
    const p = other.request('lc.respond2', 'x', { timeout: 300 }).catch((e: NatsError) => e.code);
    await sleep(5);
    await nc.drain();
    expect(await p).toBe('TIMEOUT');
    expect(lateErr).toBeInstanceOf(ConnectionClosedError);
  });
});

describe('stats()', () => {
  it('counts exactly across request/respond, headers and refused publishes', async () => {
    const responder = other;
    responder.subscribe('lc.stats', {
      callback: (m) => m.respond('abcd', { headers: new MsgHeaders({ R: '1' }) }),
    });
    await responder.flush();
    const rh = new MsgHeaders({ R: '1' }).encode().length;
    const qh = new MsgHeaders({ Q: 'zz' });
    const qhl = qh.encode().length;
    const before = nc.stats();
    expect(before).toEqual({ inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, reconnects: 0 });
    await nc.request('lc.stats', '12345', { headers: qh });
    await nc.request('lc.stats', '');
    // Refused publishes are not counted.
    expect(() => nc.publish('bad subject', 'x')).toThrow();
    expect(() => nc.publish('lc.stats', 'x'.repeat(nc.maxPayload + 1))).toThrow();
    expect(nc.stats()).toEqual({
      inMsgs: 2,
      outMsgs: 2,
      inBytes: 2 * (4 + rh),
      outBytes: 5 + qhl,
      reconnects: 0,
    });
    const rs = responder.stats();
    expect(rs.inMsgs).toBe(2);
    expect(rs.outMsgs).toBe(2);
    expect(rs.inBytes).toBe(5 + qhl);
    expect(rs.outBytes).toBe(2 * (4 + rh));
  });

  it('counts messages for closed/unknown sids (arriving after unsubscribe) consistently', async () => {
    const s = nc.subscribe('lc.late');
    await nc.flush();
    for (let i = 0; i < 10; i++) other.publish('lc.late', 'x');
    await other.flush();
    await take(s, 10);
    expect(nc.stats().inMsgs).toBe(10);
    expect(nc.stats().inBytes).toBe(10);
  });
});
