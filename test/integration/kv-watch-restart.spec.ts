// kv.watch() keeps going across a server restart: no gaps, no repeats, no second init signal.
import { connect, type NatsConnection } from '../../lib/core/index.js';
import type { KvWatchEntry } from '../../lib/kv/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { drainInto, until } from './kv-helpers.js';

let server: NatsServerHandle;
const open: NatsConnection[] = [];

beforeAll(async () => {
  server = await startServer({ jetstream: true });
});
afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  await stopAllServers();
});

async function client(): Promise<NatsConnection> {
  const nc = await connect({
    servers: server.url,
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
  });
  open.push(nc);
  return nc;
}

/** Retries a write until JetStream answers again after the restart. */
async function retry<T>(op: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await op();
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('kv.watch() across a server restart', () => {
  it('resumes after the last revision seen, without gaps or duplicates', async () => {
    const watcherNc = await client();
    const writerNc = await client();
    const kv = await watcherNc.jetstream().createKeyValue({ bucket: 'restart', history: 5 });
    const writer = await writerNc.jetstream().keyValue('restart');
    for (let i = 0; i < 10; i++) await writer.put(`k.${i % 3}`, `${i}`);

    const w = await kv.watch({ includeHistory: true });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(10);

    await server.restart();
    // Written by another connection as soon as JetStream is back, while the watcher's
    // consumer (held in memory by the old server process) is gone.
    for (let i = 10; i < 20; i++) await retry(() => writer.put(`k.${i % 3}`, `${i}`));
    await until(() => got.length >= 20, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    w.stop();
    await done;

    expect(got.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(got.map((e) => e.string())).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));
    expect(got.filter((e) => e.isUpdate).length).toBe(10);
  });
});
