// request() / requestMany() / flush() / rtt() against a real nats-server.
import {
  ConnectionClosedError,
  ConnectionDrainingError,
  InvalidOptionError,
  MaxPayloadError,
  type Msg,
  MsgHeaders,
  type NatsConnection,
  NatsError,
  NoRespondersError,
  TimeoutError,
} from '../../lib/core/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import { Connections, rejection, serverSubscriptions, timed, waitUntil } from './core-helpers.js';
import { orHang } from './resilience-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let svc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ monitor: true });
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  svc = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

async function collect(it: AsyncIterable<Msg>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of it) out.push(m.string());
  return out;
}

describe('request()', () => {
  it('resolves the reply, with headers both ways', async () => {
    svc.subscribe('req.echo', {
      callback: (m) =>
        m.respond(`echo:${m.string()}`, {
          headers: { 'X-Seen': m.headers?.get('x-req') ?? 'none' },
        }),
    });
    await svc.flush();
    const reply = await nc.request('req.echo', 'hi', { headers: { 'X-Req': 'r1' } });
    expect(reply.string()).toBe('echo:hi');
    expect(reply.headers?.get('X-Seen')).toBe('r1');
  });

  it('runs many requests over one shared wildcard inbox subscription', async () => {
    const replySubjects: string[] = [];
    svc.subscribe('req.many', {
      callback: (m) => {
        replySubjects.push(m.reply);
        m.respond(m.data);
      },
    });
    await svc.flush();
    const n = 50;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => nc.request('req.many', String(i))),
    );
    expect(replies.map((r) => r.string())).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    expect(new Set(replySubjects).size).toBe(n);
    const prefixes = new Set(replySubjects.map((r) => r.slice(0, r.lastIndexOf('.'))));
    expect(prefixes.size).toBe(1);
    expect([...prefixes][0]).toMatch(/^_INBOX\./);
    const subs = await serverSubscriptions(server.monitorUrl!, nc.clientId!);
    expect(subs).toEqual([`${[...prefixes][0]}.*`]);
  });

  it('rejects fast with NoRespondersError when nobody listens, and keeps working', async () => {
    const { ms, value: err } = await timed(() =>
      rejection(nc.request('req.nobody', 'x', { timeout: 5000 })),
    );
    expect(err).toBeInstanceOf(NoRespondersError);
    expect((err as NoRespondersError).code).toBe('NO_RESPONDERS');
    expect((err as NoRespondersError).subject).toBe('req.nobody');
    expect(ms).toBeLessThan(1000);
    svc.subscribe('req.after', { callback: (m) => m.respond('ok') });
    await svc.flush();
    expect((await nc.request('req.after')).string()).toBe('ok');
  });

  it('rejects with TimeoutError when a subscriber does not answer, and keeps working', async () => {
    const silent = svc.subscribe('req.silent');
    svc.subscribe('req.ok', { callback: (m) => m.respond('ok') });
    await svc.flush();
    const { ms, value: err } = await timed(() =>
      rejection(nc.request('req.silent', 'x', { timeout: 200 })),
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe('TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1500);
    // A late answer to the timed-out request is dropped; new requests still work.
    const late = await silent.nextMsg();
    late.respond('too late');
    expect((await nc.request('req.ok')).string()).toBe('ok');
  });

  it('answers requests from a queue group once', async () => {
    let handled = 0;
    for (let i = 0; i < 3; i++) {
      svc.subscribe('req.q', {
        queue: 'q',
        callback: (m) => {
          handled++;
          m.respond('ok');
        },
      });
    }
    await svc.flush();
    for (let i = 0; i < 10; i++) expect((await nc.request('req.q')).string()).toBe('ok');
    expect(handled).toBe(10);
  });
});

describe('requestMany()', () => {
  beforeEach(async () => {
    for (const id of ['a', 'b', 'c']) {
      const responder = await conns.connect({ servers: server.url });
      responder.subscribe('req.scatter', { callback: (m) => m.respond(id) });
      await responder.flush();
    }
  });

  it('stops after maxMessages', async () => {
    const { ms, value } = await timed(() =>
      collect(nc.requestMany('req.scatter', 'x', { maxMessages: 2, maxWait: 5000 })),
    );
    expect(value).toHaveLength(2);
    expect(ms).toBeLessThan(1000);
  });

  it('collects every reply until maxWait', async () => {
    const { ms, value } = await timed(() =>
      collect(nc.requestMany('req.scatter', 'x', { maxWait: 300 })),
    );
    expect(value.sort()).toEqual(['a', 'b', 'c']);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1500);
  });

  it('ends after stallTimeout without a new reply', async () => {
    const { ms, value } = await timed(() =>
      collect(nc.requestMany('req.scatter', 'x', { maxWait: 5000, stallTimeout: 100 })),
    );
    expect(value.sort()).toEqual(['a', 'b', 'c']);
    expect(ms).toBeLessThan(1500);
  });

  it('throws NoRespondersError when nobody listens', async () => {
    const err = await rejection(collect(nc.requestMany('req.none', 'x', { maxWait: 5000 })));
    expect(err).toBeInstanceOf(NoRespondersError);
    expect((err as NoRespondersError).code).toBe('NO_RESPONDERS');
    const again = await collect(nc.requestMany('req.scatter', 'x', { maxMessages: 3 }));
    expect(again).toHaveLength(3);
  });
});

describe('flush() and rtt()', () => {
  it('flush() resolves once the server has processed earlier publishes', async () => {
    const s = svc.subscribe('req.flush');
    await svc.flush();
    for (let i = 0; i < 100; i++) nc.publish('req.flush', String(i));
    await nc.flush();
    await svc.flush();
    expect(s.pendingMsgs).toBe(100);
  });

  it('rtt() measures a round trip in milliseconds', async () => {
    const rtt = await nc.rtt();
    expect(typeof rtt).toBe('number');
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1000);
  });
});

// request()/requestMany() against a server with a small max_payload, errors recorded.
describe('with a small max_payload', () => {
  const MAX = 2048;
  let server: NatsServerHandle;
  const conns = new Connections();
  let nc: NatsConnection;
  let svc: NatsConnection;
  let errors: NatsError[];

  beforeAll(async () => {
    server = await startServer({ monitor: true, config: `max_payload: ${MAX}\n` });
  });
  beforeEach(async () => {
    errors = [];
    nc = await conns.connect({ servers: server.url, onError: (e) => void errors.push(e) });
    svc = await conns.connect({ servers: server.url });
  });
  afterEach(() => conns.closeAll());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function settle(p: Promise<Msg>): Promise<string> {
    return p.then(
      (m) => `ok:${m.string()}`,
      (e: NatsError) => `err:${e.code}`,
    );
  }

  describe('request()', () => {
    it('settles 60 concurrent requests with mixed timeouts correctly (late replies dropped)', async () => {
      // Replies to "slow-*" after 150 ms, to "fast-*" at once.
      svc.subscribe('rq.mixed', {
        callback: (m) => {
          const body = m.string();
          if (body.startsWith('slow')) setTimeout(() => void m.respond(body), 150);
          else m.respond(body);
        },
      });
      await svc.flush();
      const expected: string[] = [];
      const all: Promise<string>[] = [];
      for (let i = 0; i < 60; i++) {
        const kind = i % 3;
        if (kind === 0) {
          all.push(settle(nc.request('rq.mixed', `fast-${i}`, { timeout: 50 })));
          expected.push(`ok:fast-${i}`);
        } else if (kind === 1) {
          all.push(settle(nc.request('rq.mixed', `slow-${i}`, { timeout: 60 })));
          expected.push('err:TIMEOUT');
        } else {
          all.push(settle(nc.request('rq.mixed', `slow-${i}`, { timeout: 1000 })));
          expected.push(`ok:slow-${i}`);
        }
      }
      expect(await Promise.all(all)).toEqual(expected);
      // A later request is not confused by the late replies that arrived meanwhile.
      await sleep(50);
      expect(await settle(nc.request('rq.mixed', 'fast-last', { timeout: 500 }))).toBe(
        'ok:fast-last',
      );
      expect(errors).toEqual([]);
    });

    it('resolves the first of two replies and drops the second', async () => {
      svc.subscribe('rq.twice', {
        callback: (m) => {
          m.respond('one');
          m.respond('two');
        },
      });
      await svc.flush();
      expect((await nc.request('rq.twice', 'x')).string()).toBe('one');
      expect((await nc.request('rq.twice', 'y')).string()).toBe('one');
      expect(errors).toEqual([]);
    });

    it('rejects (not throws) a request on a closed connection with ConnectionClosedError', async () => {
      await nc.close();
      let p: Promise<Msg> | undefined;
      expect(() => (p = nc.request('rq.closed', 'x'))).not.toThrow();
      await expect(p).rejects.toBeInstanceOf(ConnectionClosedError);
    });

    it('rejects a new request while draining with ConnectionDrainingError, in-flight one completes', async () => {
      svc.subscribe('rq.drain', {
        callback: (m) => setTimeout(() => void m.respond('late-ok'), 50),
      });
      await svc.flush();
      const inflight = nc.request('rq.drain', 'x', { timeout: 2000 });
      const d = nc.drain();
      await expect(nc.request('rq.drain', 'y')).rejects.toBeInstanceOf(ConnectionDrainingError);
      expect((await inflight).string()).toBe('late-ok');
      await d;
      expect(nc.isClosed).toBe(true);
    });

    it('sends a request with headers of exactly max_payload and refuses one byte more', async () => {
      let received: Msg | undefined;
      svc.subscribe('rq.big', {
        callback: (m) => {
          received = m;
          m.respond('ok');
        },
      });
      await svc.flush();
      const headers = new MsgHeaders({ 'X-Big': 'y'.repeat(100) });
      const hlen = headers.encode().length;
      const exact = 'x'.repeat(MAX - hlen);
      expect((await nc.request('rq.big', exact, { headers })).string()).toBe('ok');
      expect(received!.data.length).toBe(MAX - hlen);
      expect(received!.headers!.get('x-big')).toBe('y'.repeat(100));
      const before = nc.stats().outMsgs;
      const err = await nc.request('rq.big', exact + 'z', { headers }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaxPayloadError);
      expect((err as NatsError).code).toBe('MAX_PAYLOAD_EXCEEDED');
      expect(nc.stats().outMsgs).toBe(before);
      // Connection still fine; multi-byte characters are counted in bytes.
      const multi = 'é'.repeat(Math.floor((MAX - hlen) / 2) + 1);
      await expect(nc.request('rq.big', multi, { headers })).rejects.toBeInstanceOf(
        MaxPayloadError,
      );
      expect((await nc.request('rq.big', 'small')).string()).toBe('ok');
      expect(nc.isConnected).toBe(true);
    });

    it('throws MaxPayloadError synchronously for publish of max_payload+1 on a cached subject', async () => {
      // The cached-prefix fast path (second publish of a subject) must check the size too.
      nc.publish('rq.cached', 'a');
      nc.publish('rq.cached', 'b');
      const err = (() => {
        try {
          nc.publish('rq.cached', new Uint8Array(MAX + 1));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(MaxPayloadError);
      await nc.flush();
      expect(nc.isConnected).toBe(true);
    });

    it('does not re-arm its timer in a busy loop for a very long request timeout', async () => {
      svc.subscribe('rq.silent', { callback: () => undefined });
      await svc.flush();
      // Node clamps timers above 2^31-1 ms to 1 ms (TimeoutOverflowWarning): count such timers.
      const real = globalThis.setTimeout;
      let overflowing = 0;
      globalThis.setTimeout = ((fn: () => void, ms?: number, ...rest: unknown[]) => {
        if (typeof ms === 'number' && ms > 2 ** 31 - 1) overflowing++;
        return (real as (...a: unknown[]) => NodeJS.Timeout)(fn, ms, ...rest);
      }) as typeof setTimeout;
      try {
        const q = nc.request('rq.silent', 'x', { timeout: 3_000_000_000 });
        void q.catch(() => undefined);
        await sleep(200);
      } finally {
        globalThis.setTimeout = real;
      }
      expect(overflowing).toBeLessThanOrEqual(1);
    });

    it('rejects a NaN timeout (or times out) instead of waiting forever', async () => {
      svc.subscribe('rq.nan', { callback: () => undefined });
      await svc.flush();
      let p: Promise<Msg>;
      try {
        p = nc.request('rq.nan', 'x', { timeout: Number.NaN });
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError);
        return;
      }
      // orHang clears its time limit once the request settles: no timer outlives the test.
      const out = await orHang(
        p.then(
          () => 'resolved',
          (e: NatsError) => e.code,
        ),
        2500,
      );
      expect(['INVALID_OPTION', 'TIMEOUT']).toContain(out);
    });
  });

  describe('requestMany()', () => {
    it('rejects on a closed connection with ConnectionClosedError', async () => {
      await nc.close();
      const it = nc.requestMany('rm.closed', 'x');
      await expect(it.next()).rejects.toBeInstanceOf(ConnectionClosedError);
    });

    it('unsubscribes its inbox when the consumer breaks early', async () => {
      svc.subscribe('rm.many', {
        callback: (m) => {
          for (let i = 0; i < 5; i++) m.respond(String(i));
        },
      });
      await svc.flush();
      const got: string[] = [];
      for await (const m of nc.requestMany('rm.many', 'x', { maxWait: 2000 })) {
        got.push(m.string());
        if (got.length === 2) break;
      }
      expect(got).toEqual(['0', '1']);
      await nc.flush();
      const subs = await serverSubscriptions(server.monitorUrl!, nc.clientId!);
      expect(subs.filter((s) => s.startsWith('_INBOX.'))).toEqual([]);
    });

    it('throws NoRespondersError without waiting maxWait and leaves no inbox behind', async () => {
      const start = Date.now();
      const run = async () => {
        for await (const _ of nc.requestMany('rm.nobody', 'x', { maxWait: 3000 })) void _;
      };
      await expect(run()).rejects.toBeInstanceOf(NoRespondersError);
      expect(Date.now() - start).toBeLessThan(1000);
      await nc.flush();
      const subs = await serverSubscriptions(server.monitorUrl!, nc.clientId!);
      expect(subs).toEqual([]);
    });

    it('throws MaxPayloadError for an oversize requestMany and leaves no inbox behind', async () => {
      const run = async () => {
        for await (const _ of nc.requestMany('rm.big', 'x'.repeat(MAX + 1))) void _;
      };
      await expect(run()).rejects.toBeInstanceOf(MaxPayloadError);
      await nc.flush();
      await waitUntil(() => true);
      const subs = await serverSubscriptions(server.monitorUrl!, nc.clientId!);
      expect(subs).toEqual([]);
      expect(nc.isConnected).toBe(true);
    });

    it('passes TimeoutError type through for request on a subject with a silent subscriber', async () => {
      svc.subscribe('rq.silent2', { callback: () => undefined });
      await svc.flush();
      const err = await nc.request('rq.silent2', 'x', { timeout: 30 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
    });
  });
});
