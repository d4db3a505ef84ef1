// Stale connections, status events and reconnect attempt semantics.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionClosedError,
  connect,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';
import {
  getFreePort,
  startFakeServer,
  startServer,
  stopAllServers,
  type FakeConnection,
  type FakeServer,
} from '../support/index.js';
import { Conns, FAST, orHang, range, track, waitUntil, watch } from './resilience-helpers.js';

afterAll(stopAllServers);
const conns = new Conns();
const fakes: FakeServer[] = [];
afterEach(async () => {
  await conns.closeAll();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

describe('stale connections', () => {
  it('a flush() made while down is not resolved by the PONG of a PING left over from the stale connection', async () => {
    let n = 0;
    const fake = await startFakeServer(async (conn) => {
      const i = n++;
      if (i === 0) {
        await conn.handshake();
        conn.socket.pause(); // stops reading: the client backs up, its PINGs go unanswered
      } else {
        conn.autoPong = false; // the test answers PINGs by hand
        await conn.handshake();
      }
    });
    fakes.push(fake);
    const nc = conns.track(
      await connect({
        servers: fake.url,
        ...FAST,
        pingInterval: 500,
        maxPingsOut: 1,
        reconnectBufferSize: 256 * 1024 * 1024,
      }),
    );
    const w = watch(nc);
    const big = new Uint8Array(64 * 1024);
    for (let i = 0; i < 160; i++) void nc.publish('bulk', big); // ~10 MB: the socket backs up
    await sleep(650); // the stale-check PING of the first tick is queued behind the bulk
    nc.publish('mark.b', 'b');
    await waitUntil(() => w.count('disconnect') === 1, 'stale disconnect', 5000);
    nc.publish('mark.c', 'c');
    const f = track(nc.flush());
    await waitUntil(() => fake.connections.length === 2, 'second connection', 5000);
    const second: FakeConnection = fake.connections[1];
    await second.waitFor(/^PUB mark\.c 1$/, 10_000);
    await second.waitFor(/^PING$/, 2000);
    const afterHandshake = second.lines.slice(
      second.lines.findIndex((l) => l.startsWith('CONNECT')) + 2,
    );
    const markC = afterHandshake.indexOf('PUB mark.c 1');
    // PINGs the new server saw before mark.c: none of them may vouch for the flush asked after it.
    const pingsBefore = afterHandshake.slice(0, markC).filter((l) => l === 'PING').length;
    const control = afterHandshake.filter((l) => !l.startsWith('PUB bulk') && l.length < 100);
    expect(pingsBefore).toBeGreaterThan(0);
    second.send('PONG\r\n'.repeat(pingsBefore));
    await sleep(50);
    expect(w.count('disconnect')).toBe(1); // still on the second connection
    expect({ flushResolved: f.settled, control }).toEqual({ flushResolved: false, control });
  }, 20_000);
});

describe('status events', () => {
  it('orders disconnect, reconnecting…, reconnect, close; callbacks once each; a mid-way iterator sees the rest and ends', async () => {
    const server = await startServer();
    const calls: string[] = [];
    const nc = await conns.connect({
      servers: server.url,
      reconnectTimeWait: 100,
      onDisconnect: () => calls.push('disconnect'),
      onReconnect: () => calls.push('reconnect'),
      onClose: () => calls.push('close'),
    });
    const all = watch(nc);
    await server.kill();
    await waitUntil(() => all.count('reconnecting') >= 2, 'attempts');
    const mid = watch(nc); // started while reconnecting
    let midEnded = false;
    void (async () => {
      // separate iterator to verify it ends after close
      for await (const _ of nc.status()) void _;
      midEnded = true;
    })();
    await server.restart();
    await waitUntil(() => all.count('reconnect') === 1, 'reconnect');
    await nc.close();
    await waitUntil(() => midEnded, 'iterator end after close', 2000);
    const types = all.types();
    expect(types[0]).toBe('disconnect');
    expect(types.slice(1, -2).every((t) => t === 'reconnecting')).toBe(true);
    expect(types.slice(-2)).toEqual(['reconnect', 'close']);
    const midTypes = mid.types();
    expect(midTypes.every((t) => t === 'reconnecting' || t === 'reconnect' || t === 'close')).toBe(
      true,
    );
    expect(midTypes.slice(-2)).toEqual(['reconnect', 'close']);
    expect(calls).toEqual(['disconnect', 'reconnect', 'close']);
    // reconnecting attempts numbered 1..k
    const attempts = all.seen
      .map((s) => s.status)
      .filter((s): s is Extract<Status, { type: 'reconnecting' }> => s.type === 'reconnecting')
      .map((s) => s.attempt);
    expect(attempts).toEqual(range(attempts.length, 1));
    // an iterator started after close ends at once
    const late = nc.status();
    expect(await late.next()).toEqual({ done: true, value: undefined });
  });

  it('close() and drain() racing: one close event, onClose once, no disconnect event', async () => {
    const server = await startServer();
    let closes = 0;
    let disconnects = 0;
    const nc = await conns.connect({
      servers: server.url,
      onClose: () => closes++,
      onDisconnect: () => disconnects++,
    });
    const w = watch(nc);
    nc.subscribe('x');
    await Promise.all([nc.drain(), nc.close(), nc.drain(), nc.close()]);
    await sleep(50);
    expect(closes).toBe(1);
    expect(disconnects).toBe(0);
    expect(w.types()).toEqual(['close']);
  });
});

describe('reconnect attempt semantics', () => {
  it('maxReconnectAttempts: 0 closes without attempting, with an error', async () => {
    const server = await startServer();
    const nc = await conns.connect({ servers: server.url, maxReconnectAttempts: 0 });
    const w = watch(nc);
    await server.kill();
    const err = await orHang(nc.closed(), 2000);
    expect(err).toBeInstanceOf(Error);
    expect(w.count('reconnecting')).toBe(0);
    expect(w.types()).toEqual(['disconnect', 'close']);
  });

  it('reconnect: false closes on the first loss, failing pending requests', async () => {
    const server = await startServer();
    const nc = await conns.connect({ servers: server.url, reconnect: false });
    const w = watch(nc);
    nc.subscribe('silent');
    await nc.flush();
    const req = track(nc.request('silent', '', { timeout: 10_000 }));
    await server.kill();
    const err = await orHang(nc.closed(), 2000);
    expect(err).toBeInstanceOf(Error);
    await waitUntil(() => req.settled, 'request');
    expect(req.error).toBeInstanceOf(ConnectionClosedError);
    expect(w.types()).toEqual(['disconnect', 'close']);
  });

  it('maxReconnectAttempts is per server (3 servers x 3 attempts), then closes', async () => {
    const p1 = await getFreePort();
    const p2 = await getFreePort();
    const server = await startServer();
    const asked: number[] = [];
    const nc = await conns.connect({
      servers: [server.url, `nats://127.0.0.1:${p1}`, `nats://127.0.0.1:${p2}`],
      noRandomize: true,
      maxReconnectAttempts: 3,
      reconnectDelayHandler: (a) => {
        asked.push(a);
        return 20;
      },
    });
    const w = watch(nc);
    await server.kill();
    const err = await orHang(nc.closed(), 5000);
    expect(err).toBeInstanceOf(Error);
    expect(w.count('reconnecting')).toBe(9); // 3 servers × 3 attempts
    // Reported, not asserted as a contract: the argument is the cumulative attempt count.
    expect({ asked }).toEqual({ asked: [3, 6, 9] });
  });

  it('waitOnFirstConnect with maxReconnectAttempts gives up and closes with an error', async () => {
    const port = await getFreePort();
    let closedWith: unknown = 'not called';
    const nc = conns.track(
      await connect({
        servers: `nats://127.0.0.1:${port}`,
        waitOnFirstConnect: true,
        maxReconnectAttempts: 2,
        ...FAST,
        onClose: (e) => (closedWith = e),
      }),
    );
    const err = await orHang(nc.closed(), 3000);
    expect(err).toBeInstanceOf(Error);
    expect(closedWith).toBe(err);
    expect(nc.isClosed).toBe(true);
  });
});

export type { NatsConnection };
