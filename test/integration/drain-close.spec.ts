// drain() and close() against a real nats-server: what still arrives, what fails, and how.
import {
  ConnectionClosedError,
  ConnectionDrainingError,
  type Msg,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, rejection, thrown, waitUntil } from './core-helpers.js';

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
        void setTimeout(() => responder.isClosed || m.respond(`done:${m.string()}`), 50),
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
