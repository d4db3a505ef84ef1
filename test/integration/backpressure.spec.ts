// The outbound path against a real nats-server: publish() hands out a shared promise above the
// high-water mark, so an awaiting publisher stays within bounded memory, and a publisher that
// does not await still gets every message delivered.
import type { NatsConnection } from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, waitUntil } from './core-helpers.js';

const MB = 1024 * 1024;

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let sub: NatsConnection;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  sub = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

/** Counts messages on `subject` with a callback subscription on the second connection. */
async function counter(subject: string): Promise<() => number> {
  let n = 0;
  sub.subscribe(subject, { callback: () => void n++ });
  await sub.flush();
  return () => n;
}

/**
 * Publishes `total` messages of `payload`, awaiting each publish(), sampling RSS every `every`
 * messages. Returns how many publishes returned a promise and the peak RSS growth.
 */
async function awaitedPublishes(
  subject: string,
  payload: Uint8Array,
  total: number,
  every = 50_000,
): Promise<{ promises: number; peakGrowth: number; ms: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  let promises = 0;
  const start = performance.now();
  for (let i = 1; i <= total; i++) {
    const p = nc.publish(subject, payload);
    if (p !== undefined) {
      promises++;
      await p;
    }
    if (i % every === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  await nc.flush();
  return { promises, peakGrowth: peak - base, ms: performance.now() - start };
}

describe('backpressure', () => {
  it('keeps memory bounded while awaiting 1,000,000 publishes of 16 bytes', async () => {
    const received = await counter('bp.small');
    const total = 1_000_000;
    const r = await awaitedPublishes('bp.small', new Uint8Array(16), total);
    expect(nc.stats().outMsgs).toBe(total);
    expect(r.peakGrowth).toBeLessThan(100 * MB);
    await waitUntil(() => received() === total, 20_000, `${total} messages`);
    // Not a benchmark, only a guard against a pathologically slow path.
    expect(r.ms).toBeLessThan(10_000);
  });

  it('holds back an awaiting publisher of 200 MB (200,000 x 1 KiB) in bounded memory', async () => {
    const received = await counter('bp.large');
    const total = 200_000;
    const r = await awaitedPublishes('bp.large', new Uint8Array(1024), total, 10_000);
    expect(r.promises).toBeGreaterThan(0);
    // 150 MiB, not 100: on Node 24 this spec alone peaks at 106-122 MiB of RSS growth (the code
    // before and after the last changes alike), as Node 24 collects later (the slow-consumer
    // spec saw the same). A publisher that buffered the 200 MB instead of waiting still exceeds it.
    expect(r.peakGrowth).toBeLessThan(150 * MB);
    await waitUntil(() => received() === total, 20_000, `${total} messages`);
  });

  it('returns undefined below the high-water mark and one shared promise above it', async () => {
    const small = await conns.connect({ servers: server.url, writeHighWaterMark: 64 * 1024 });
    const received = await counter('bp.mark');
    expect(small.publish('bp.mark', 'first')).toBeUndefined();
    await small.flush();
    const payload = new Uint8Array(8 * 1024);
    let sent = 1;
    let first: Promise<void> | undefined;
    for (let i = 0; i < 100_000 && first === undefined; i++) {
      first = small.publish('bp.mark', payload);
      sent++;
    }
    expect(first).toBeInstanceOf(Promise);
    const second = small.publish('bp.mark', payload);
    sent++;
    expect(second).toBe(first);
    await first;
    await small.flush();
    expect(small.publish('bp.mark', 'after')).toBeUndefined();
    sent++;
    await small.flush();
    await waitUntil(() => received() === sent, 10_000, `${sent} messages`);
  });

  it('delivers all 100,000 messages of a publisher that does not await', async () => {
    const received = await counter('bp.fire');
    const total = 100_000;
    for (let i = 0; i < total; i++) nc.publish('bp.fire', 'payload-of-some-size');
    await nc.flush();
    await waitUntil(() => received() === total, 10_000, `${total} messages`);
    await sub.flush();
    expect(received()).toBe(total);
  });
});
