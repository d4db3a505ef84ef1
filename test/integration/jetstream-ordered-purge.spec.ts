// Ordered consumers (and the KV and object watches built on them) against a nats-server 2.9 bug:
// a purge of a subject — a rollup publish, a KV purge(), an object's metadata write — moves
// every consumer whose filter covers it up to the subject's first remaining message, skipping
// what it had not delivered yet on any subject.
import { MsgHeaders } from '../../lib/core/index.js';
import type { KvBucket, KvWatchEntry } from '../../lib/kv/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, drainInto, until } from './kv-helpers.js';
import type { ObjectInfo } from '../../lib/obj/index.js';

const fx = new JsFixture();
fx.install();

const ROLLUP = new MsgHeaders({ 'Nats-Rollup': 'sub' });
const KEYS = Array.from({ length: 300 }, (_, i) => `k${i}`);

/** Large values, so a watch takes a while to be fed them all. */
function putKeys(kv: KvBucket): Promise<number[]> {
  const value = new Uint8Array(32 * 1024);
  return Promise.all(KEYS.map((k) => kv.put(k, value)));
}

/** Purges key 'zz' (a rollup), reads the watch up to it and stops it: the keys seen, in order. */
async function purgeThenRead(kv: KvBucket, w: AsyncIterable<KvWatchEntry> & { stop(): void }) {
  await kv.purge('zz');
  const entries: KvWatchEntry[] = [];
  const reading = drainInto(w, entries);
  await until(() => entries.some((e) => e.key === 'zz'), 10_000);
  w.stop();
  await reading;
  return entries.map((e) => e.key);
}

describe('ordered consumers behind a purge', () => {
  it('deliver every message when a rollup lands while they are behind', async () => {
    const { stream, subj } = await fx.stream({ allowRollupHdrs: true });
    const payload = new Uint8Array(16 * 1024);
    await Promise.all(Array.from({ length: 400 }, () => fx.js.publish(`${subj}.a`, payload)));
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 1000 });
    const seqs: number[] = [];
    for await (const m of oc) {
      seqs.push(m.seq);
      if (seqs.length === 10) {
        // Still behind: flow control holds the backlog for this slow reader.
        await sleep(200);
        await fx.js.publish(`${subj}.b`, 'roll', { headers: ROLLUP });
      }
      if (m.seq === 401) break;
    }
    expect(seqs).toEqual(Array.from({ length: 401 }, (_, i) => i + 1));
  });

  it('accept a rollup after a gap without reading it twice', async () => {
    const { stream, subj } = await fx.stream({ allowRollupHdrs: true });
    const oc = await fx.js.consumers.ordered(stream, { filterSubject: `${subj}.b` });
    const got: string[] = [];
    const reading = (async () => {
      for await (const m of oc) got.push(`${m.seq}:${m.string()}`);
    })();
    await fx.js.publish(`${subj}.b`, 'b1');
    await until(() => got.length === 1);
    // The filter leaves seq 2 out, so the rollup at 3 follows a gap.
    await fx.js.publish(`${subj}.a`, 'a1');
    await fx.js.publish(`${subj}.b`, 'b2', { headers: ROLLUP });
    await fx.js.publish(`${subj}.b`, 'b3');
    await until(() => got.length >= 3);
    await sleep(100);
    oc.stop();
    await reading;
    expect(got).toEqual(['1:b1', '3:b2', '4:b3']);
    expect(oc.resets).toBe(1);
  });

  it('reads the rollups of older history without restarting for each', async () => {
    const { stream, subj } = await fx.stream({ allowRollupHdrs: true });
    const acks = [];
    for (let i = 0; i < 100; i++) {
      acks.push(fx.js.publish(`${subj}.k${i}`, 'v1'));
      acks.push(fx.js.publish(`${subj}.k${i}`, 'v2', { headers: ROLLUP }));
    }
    await Promise.all(acks);
    // Stored well before the consumer exists (past the allowance for clock skew), these
    // rollups cannot have moved it, so the gaps before them need no second reading once the
    // consumer's creation time is known (the first messages may come before it is).
    await sleep(1200);
    const oc = await fx.js.consumers.ordered(stream);
    const got: number[] = [];
    for await (const m of oc) {
      got.push(m.seq);
      if (m.metadata.numPending === 0) break;
    }
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i + 2));
    // Without the check of their time, each of the 100 would restart it once (measured 0-8).
    expect(oc.resets).toBeLessThan(50);
  });

  it('a KV watch keeps every change when a purge lands while it is behind', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName(), storage: 'memory' });
    const w = await kv.watch();
    await w.initialized;
    await putKeys(kv);
    // The watch is still being fed the puts when the purge's rollup lands.
    expect(await purgeThenRead(kv, w)).toEqual([...KEYS, 'zz']);
  });

  it('a KV watch keeps every initial value when a purge lands during them', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName(), storage: 'memory' });
    await putKeys(kv);
    const w = await kv.watch();
    // The initial values are still on their way when the purge's rollup lands (a last-per-subject
    // snapshot follows its own list of sequences, which nats-server 2.9.10 does not move).
    expect(await purgeThenRead(kv, w)).toEqual([...KEYS, 'zz']);
  });

  it('an object watch keeps the puts a metadata write lands behind', async () => {
    const os = await fx.js.createObjectStore({ bucket: bucketName('o'), storage: 'memory' });
    await os.put({ name: 'a' }, '1');
    const w = await os.watch();
    await w.initialized;
    // Large metadata messages, so the watch is still being fed them when the delete lands.
    const description = 'd'.repeat(32 * 1024);
    const names = Array.from({ length: 200 }, (_, i) => `o${i}`);
    await Promise.all(names.map((name) => os.put({ name, description }, name)));
    await os.delete('a');
    const infos: ObjectInfo[] = [];
    const reading = drainInto(w, infos);
    await until(() => infos.some((i) => i.name === 'a' && i.deleted), 10_000);
    w.stop();
    await reading;
    expect(infos.map((i) => `${i.name}${i.deleted ? '-' : ''}`)).toEqual(['a', ...names, 'a-']);
  });
});
