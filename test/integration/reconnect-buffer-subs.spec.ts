// Publishes and subscriptions made while disconnected, and the limits of the reconnect buffer.
import { setTimeout as sleep } from 'node:timers/promises';
import { ReconnectBufferFullError, type Msg } from '../../lib/core/index.js';
import { startServer, stopAllServers } from '../support/index.js';
import { Conns, subsOf, waitUntil, waitUntilAsync, watch } from './resilience-helpers.js';

afterAll(stopAllServers);
const conns = new Conns();
afterEach(() => conns.closeAll());

describe('publishes during a disconnect', () => {
  it('delivers interleaved publishes and requests made while down exactly once, in order', async () => {
    const server = await startServer();
    const nc = await conns.connect({ servers: server.url });
    const w = watch(nc);
    const order: string[] = [];
    nc.subscribe('mix.>', {
      callback: (m: Msg) => {
        order.push(m.string());
        if (m.reply) void m.respond(`re ${m.string()}`);
      },
    });
    await nc.flush();
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    const replies: Array<Promise<Msg>> = [];
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 5) {
        replies.push(nc.request('mix.req', `r${i}`, { timeout: 8000 }));
      } else {
        nc.publish('mix.pub', `p${i}`);
      }
      expected.push(i % 10 === 5 ? `r${i}` : `p${i}`);
    }
    await server.restart();
    const got = await Promise.all(replies);
    expect(got.map((m) => m.string())).toEqual(
      expected.filter((e) => e.startsWith('r')).map((e) => `re ${e}`),
    );
    await nc.flush();
    await sleep(50);
    expect(order).toEqual(expected);
  });

  it('accepts a publish that fills the reconnect buffer exactly (repeated subject)', async () => {
    const server = await startServer();
    const frame = Buffer.byteLength('PUB edge.x 10\r\n') + 10 + 2;
    const nc = await conns.connect({ servers: server.url, reconnectBufferSize: 3 * frame });
    const w = watch(nc);
    const got: string[] = [];
    nc.subscribe('edge.x', { callback: (m) => got.push(m.string()) });
    await nc.flush();
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    const outcome: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        nc.publish('edge.x', `payload-0${i}`);
        outcome.push('ok');
      } catch (err) {
        outcome.push(err instanceof ReconnectBufferFullError ? 'full' : String(err));
      }
    }
    // 3 frames fit exactly in 3 * frame bytes; the 4th is one frame over.
    expect(outcome).toEqual(['ok', 'ok', 'ok', 'full']);
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
    nc.publish('edge.x', 'after-0000');
    await waitUntil(() => got.includes('after-0000'), 'publish after reconnect');
  });

  it('refuses with ReconnectBufferFullError one byte over, then works after reconnect', async () => {
    const server = await startServer();
    const frame = Buffer.byteLength('PUB over.x 10\r\n') + 10 + 2;
    const nc = await conns.connect({ servers: server.url, reconnectBufferSize: 2 * frame - 1 });
    const w = watch(nc);
    const got: string[] = [];
    nc.subscribe('over.x', { callback: (m) => got.push(m.string()) });
    await nc.flush();
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    nc.publish('over.x', 'payload-00');
    expect(() => nc.publish('over.x', 'payload-01')).toThrow(ReconnectBufferFullError);
    // a smaller one still fits
    nc.publish('over.x', 'p2');
    await server.restart();
    await waitUntil(() => got.length === 2, 'buffered publishes');
    expect(got).toEqual(['payload-00', 'p2']);
    nc.publish('over.x', 'payload-03');
    await waitUntil(() => got.length === 3, 'after reconnect');
  });
});

describe('requests against a full reconnect buffer', () => {
  it('a request whose publish does not fit fails with ReconnectBufferFullError (rejection, not a throw), not a timeout', async () => {
    const server = await startServer();
    const nc = await conns.connect({ servers: server.url, reconnectBufferSize: 256 });
    const w = watch(nc);
    await nc.flush();
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    let p: Promise<unknown> | undefined;
    expect(() => (p = nc.request('rq.full', 'x'.repeat(400), { timeout: 5000 }))).not.toThrow();
    const t0 = performance.now();
    const err = await p!.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconnectBufferFullError);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

describe('subscription state after reconnect', () => {
  it('server holds exactly the subscriptions the client has after changes made while down', async () => {
    const server = await startServer({ monitor: true });
    const nc = await conns.connect({ servers: server.url });
    const other = await conns.connect({ servers: server.url });
    const w = watch(nc);
    const wo = watch(other);
    const keep = nc.subscribe('s.keep');
    const dropWhileDown = nc.subscribe('s.drop');
    const limited = nc.subscribe('s.limited', { max: 2 });
    const laterLimit = nc.subscribe('s.later');
    await nc.flush();
    other.publish('s.limited', 'one');
    await other.flush();
    await waitUntil(() => limited.delivered === 1, 'one limited msg');
    expect(await subsOf(server.monitorUrl!, nc.clientId)).toEqual([
      's.drop',
      's.keep',
      's.later',
      's.limited',
    ]);
    await server.kill();
    await waitUntil(
      () => w.count('disconnect') === 1 && wo.count('disconnect') === 1,
      'disconnect',
    );
    dropWhileDown.unsubscribe();
    const created = nc.subscribe('s.created');
    const createdThenDropped = nc.subscribe('s.ephemeral');
    createdThenDropped.unsubscribe();
    const createdLimited = nc.subscribe('s.createdLimited', { max: 3 });
    laterLimit.unsubscribe(4);
    const drainedWhileDown = nc.subscribe('s.drained');
    await drainedWhileDown.drain();
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1 && wo.count('reconnect') === 1, 'reconnect');
    await nc.flush();
    await other.flush();
    expect(await subsOf(server.monitorUrl!, nc.clientId)).toEqual([
      's.created',
      's.createdLimited',
      's.keep',
      's.later',
      's.limited',
    ]);
    for (let i = 0; i < 10; i++) {
      for (const s of [
        's.keep',
        's.drop',
        's.limited',
        's.later',
        's.created',
        's.ephemeral',
        's.createdLimited',
        's.drained',
      ])
        other.publish(s, String(i));
    }
    await other.flush();
    await nc.flush();
    await sleep(100);
    expect(keep.delivered).toBe(10);
    expect(created.delivered).toBe(10);
    expect(limited.delivered).toBe(2);
    expect(laterLimit.delivered).toBe(4);
    expect(createdLimited.delivered).toBe(3);
    expect(dropWhileDown.delivered).toBe(0);
    expect(createdThenDropped.delivered).toBe(0);
    // nothing else arrived on the wire
    await waitUntilAsync(
      async () =>
        (await subsOf(server.monitorUrl!, nc.clientId)).join() === ['s.created', 's.keep'].join(),
      'server-side subs after auto-unsubscribe limits',
      3000,
    );
  });

  it('a subscription whose drain was in flight at the disconnect is not left on the new server', async () => {
    const server = await startServer({ monitor: true });
    const nc = await conns.connect({ servers: server.url });
    const w = watch(nc);
    const draining = nc.subscribe('d.inflight');
    nc.subscribe('d.keep');
    await nc.flush();
    // Freeze the server so the UNSUB + PING of the drain stay unanswered, then crash it.
    await server.freeze();
    const drained = draining.drain();
    await sleep(100);
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect');
    await drained;
    expect(draining.isClosed).toBe(true);
    await nc.flush();
    const before = nc.stats().inMsgs;
    const pub = await conns.connect({ servers: server.url });
    for (let i = 0; i < 5; i++) pub.publish('d.inflight', 'x');
    await pub.flush();
    await nc.flush();
    await sleep(100);
    expect(await subsOf(server.monitorUrl!, nc.clientId)).toEqual(['d.keep']);
    expect(nc.stats().inMsgs - before).toBe(0);
  });

  it('a SUB still queued at the disconnect, unsubscribed while down, is not subscribed on the new server', async () => {
    const server = await startServer({ monitor: true });
    const nc = await conns.connect({ servers: server.url, reconnectBufferSize: 64 * 1024 * 1024 });
    const w = watch(nc);
    nc.subscribe('q.keep');
    await nc.flush();
    await server.freeze();
    const big = new Uint8Array(64 * 1024);
    for (let i = 0; i < 160; i++) void nc.publish('q.bulk', big); // ~10 MB: the socket backs up
    await sleep(100);
    const leaked = nc.subscribe('q.leak'); // its SUB waits behind the bulk
    await server.kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    leaked.unsubscribe();
    expect(leaked.isClosed).toBe(true);
    await server.restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect', 8000);
    await nc.flush();
    expect(await subsOf(server.monitorUrl!, nc.clientId)).toEqual(['q.keep']);
  }, 20_000);
});
