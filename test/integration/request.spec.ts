// request() / requestMany() / flush() / rtt() against a real nats-server.
import {
  NoRespondersError,
  TimeoutError,
  type Msg,
  type NatsConnection,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, rejection, serverSubscriptions, timed } from './core-helpers.js';

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
