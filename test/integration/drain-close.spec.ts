// drain() and close() against a real nats-server: what still arrives, what fails, and how.
import {
  ConnectionClosedError,
  ConnectionDrainingError,
  type Msg,
  MsgHeaders,
  type NatsConnection,
  NatsError,
  type Status,
} from '../../lib/core/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import { Connections, rejection, take, thrown, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let other: NatsConnection;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  other = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

function expectCode(err: unknown, cls: abstract new (...args: never[]) => Error, code: string) {
  expect(err).toBeInstanceOf(cls);
  expect((err as { code?: string }).code).toBe(code);
}

describe('drain()', () => {
  it('leaves queued messages readable from an iterator, then closes cleanly', async () => {
    const closes: Array<Error | undefined> = [];
    nc = await conns.connect({ servers: server.url, onClose: (e) => closes.push(e) });
    const sub = nc.subscribe('drain.iter');
    await nc.flush();
    for (let i = 0; i < 50; i++) other.publish('drain.iter', String(i));
    await other.flush();
    const events: Status['type'][] = [];
    const watching = (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })();
    const drained = nc.drain();
    expect(nc.isDraining).toBe(true);
    await drained;
    expect(nc.isClosed).toBe(true);
    await expect(nc.closed()).resolves.toBeUndefined();
    const got: string[] = [];
    for await (const m of sub) got.push(m.string());
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    await watching;
    expect(events.at(-1)).toBe('close');
    expect(closes).toEqual([undefined]);
  });

  it('lets requests in flight complete', async () => {
    nc = await conns.connect({ servers: server.url });
    // Answers 50 ms later (if the test has not closed the connection by then).
    const responder = other;
    responder.subscribe('drain.slow', {
      callback: (m) =>
        void setTimeout(() => void (responder.isClosed || m.respond(`done:${m.string()}`)), 50),
    });
    await responder.flush();
    const pending = [nc.request('drain.slow', '1'), nc.request('drain.slow', '2')];
    await nc.flush();
    await nc.drain();
    const replies = await Promise.allSettled(pending);
    const outcome = (r: PromiseSettledResult<Msg>): string =>
      r.status === 'fulfilled' ? r.value.string() : String(r.reason);
    expect(replies.map(outcome)).toEqual(['done:1', 'done:2']);
  });

  it('delivers publishes buffered before drain()', async () => {
    nc = await conns.connect({ servers: server.url });
    let count = 0;
    other.subscribe('drain.pubs', { callback: () => void count++ });
    await other.flush();
    for (let i = 0; i < 5000; i++) nc.publish('drain.pubs', 'x');
    await nc.drain();
    await waitUntil(() => count === 5000);
    await other.flush();
    expect(count).toBe(5000);
  });

  it('refuses new subscriptions and requests with ConnectionDrainingError while draining', async () => {
    nc = await conns.connect({ servers: server.url });
    nc.subscribe('drain.busy');
    const drained = nc.drain();
    expectCode(
      thrown(() => nc.subscribe('drain.new')),
      ConnectionDrainingError,
      'CONNECTION_DRAINING',
    );
    expectCode(
      await rejection(nc.request('drain.req')),
      ConnectionDrainingError,
      'CONNECTION_DRAINING',
    );
    expect(nc.drain()).toBe(drained);
    await drained;
    // Other connections are unaffected.
    const s = other.subscribe('drain.other');
    other.publish('drain.other', 'ok');
    expect((await s.nextMsg()).string()).toBe('ok');
  });

  it('ends callback subscriptions after their last message', async () => {
    nc = await conns.connect({ servers: server.url });
    const got: Msg[] = [];
    const sub = nc.subscribe('drain.cb', { callback: (m) => void got.push(m) });
    await nc.flush();
    for (let i = 0; i < 20; i++) other.publish('drain.cb', String(i));
    await other.flush();
    await nc.drain();
    await expect(sub.closed).resolves.toBeUndefined();
    expect(got).toHaveLength(20);
  });
});

describe('close()', () => {
  it('fails pending requests with ConnectionClosedError and ends iterators', async () => {
    nc = await conns.connect({ servers: server.url });
    other.subscribe('close.silent');
    await other.flush();
    const sub = nc.subscribe('close.iter');
    const iterating = (async () => {
      const got: Msg[] = [];
      for await (const m of sub) got.push(m);
      return got;
    })();
    const req = nc.request('close.silent', 'x', { timeout: 5000 });
    await nc.flush();
    await nc.close();
    expectCode(await rejection(req), ConnectionClosedError, 'CONNECTION_CLOSED');
    await expect(iterating).resolves.toEqual([]);
    await expect(sub.closed).resolves.toBeUndefined();
    await expect(nc.closed()).resolves.toBeUndefined();
  });

  it('makes every later operation fail with ConnectionClosedError', async () => {
    nc = await conns.connect({ servers: server.url });
    const sub = nc.subscribe('close.after');
    await nc.close();
    const code = 'CONNECTION_CLOSED';
    expectCode(
      thrown(() => nc.publish('close.after', 'x')),
      ConnectionClosedError,
      code,
    );
    expectCode(
      thrown(() => nc.subscribe('close.after')),
      ConnectionClosedError,
      code,
    );
    expectCode(await rejection(nc.request('close.after')), ConnectionClosedError, code);
    expectCode(await rejection(nc.flush()), ConnectionClosedError, code);
    expectCode(await rejection(nc.rtt()), ConnectionClosedError, code);
    const many = nc.requestMany('close.after', 'x');
    expectCode(await rejection(many.next()), ConnectionClosedError, code);
    await expect(nc.drain()).resolves.toBeUndefined();
    expect(() => sub.unsubscribe()).not.toThrow();
    // Other connections are unaffected.
    const s = other.subscribe('close.other');
    other.publish('close.other', 'ok');
    expect((await s.nextMsg()).string()).toBe('ok');
  });
});

// close()/drain() combinations, closed() resolution, status events and exact stats, on
// connections that record their status events and onClose calls.
describe('with status events and onClose recorded', () => {
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
});
