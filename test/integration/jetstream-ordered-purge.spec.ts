// Ordered consumers (and the KV and object watches built on them) against a nats-server 2.9 bug:
// a purge of a subject — a rollup publish, a KV purge(), an object's metadata write — moves
// every consumer whose filter covers it up to the subject's first remaining message, skipping
// what it had not delivered yet on any subject. 2.10+ fixed it (measured below on each release),
// and there the client's repair is off.
import { MsgHeaders } from '../../lib/core/index.js';
import type { ConsumerConfig } from '../../lib/jetstream/index.js';
import { itSince, serverAtLeast, testServerVersion } from '../support/index.js';
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
    // The rollup after a gap is read again only where the server may have skipped (2.9); on
    // 2.10+ the repair costs nothing.
    expect(oc.resets).toBe(serverAtLeast('2.10.0') ? 0 : 1);
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

/**
 * The reproduction: 10 messages on `.a`, one on `.b`, a durable with the filters `filters`
 * gives for the subject prefix that has taken the first two, then `.b` is purged (a rollup or
 * a filtered purge). Resolves the stream sequences the durable delivers in all: every message
 * left is 1-10 and 12 (11 was purged); a server with the skip jumps from 2 to 12.
 */
async function purgeBehindDurable(
  how: 'rollup' | 'purge',
  filters: (subj: string) => Pick<ConsumerConfig, 'filterSubject' | 'filterSubjects'>,
): Promise<number[]> {
  const { stream, subj } = await fx.stream({ allowRollupHdrs: true });
  for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.a`, `a${i}`);
  await fx.js.publish(`${subj}.b`, 'b-old');
  await fx.jsm.consumers.add(stream, { durableName: 'd', ackPolicy: 'explicit', ...filters(subj) });
  const c = await fx.js.consumers.get(stream, 'd');
  const first = await c.fetch(2, { timeout: 1000 });
  first.forEach((m) => m.ack());
  if (how === 'rollup') await fx.js.publish(`${subj}.b`, 'b-new', { headers: ROLLUP });
  else {
    await fx.jsm.streams.purge(stream, { filter: `${subj}.b` });
    await fx.js.publish(`${subj}.b`, 'b-new');
  }
  const rest = await c.fetch(20, { timeout: 500 });
  return [...first, ...rest].map((m) => m.seq);
}

const EVERYTHING = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12];
const SKIPPED = [1, 2, 12];
const wider = (subj: string) => ({ filterSubject: `${subj}.>` });

describe(`the purge skip, measured on nats-server ${testServerVersion()}`, () => {
  // Measured: 2.9.10 skips; 2.10.27, 2.11.17, 2.12.15 and 2.14.10 do not.
  const skips = !serverAtLeast('2.10.0');
  const expected = skips ? SKIPPED : EVERYTHING;

  it(`a rollup ${skips ? 'moves' : 'does not move'} a consumer with a wider filter past undelivered messages`, async () => {
    expect(await purgeBehindDurable('rollup', wider)).toEqual(expected);
  });

  it(`a filtered purge ${skips ? 'moves' : 'does not move'} a consumer with a wider filter past undelivered messages`, async () => {
    expect(await purgeBehindDurable('purge', wider)).toEqual(expected);
  });

  it(`a rollup ${skips ? 'moves' : 'does not move'} an unfiltered consumer past undelivered messages`, async () => {
    expect(await purgeBehindDurable('rollup', () => ({}))).toEqual(expected);
  });

  // Several filters (2.10+) were still moved by a purge covering one of them until 2.14
  // (nats-server#8571; measured: 2.10.27, 2.11.17, 2.12.15 skip, 2.14.10 does not). Ordered
  // consumers, and so KV and object watches, use one filter and are not exposed to it.
  const multiSkips = !serverAtLeast('2.14.10');
  const several = (subj: string) => ({ filterSubjects: [`${subj}.a`, `${subj}.b`] });
  itSince(
    '2.10.0',
    `a purge covering one of several filters ${multiSkips ? 'moves' : 'does not move'} the consumer past undelivered messages`,
    async () => {
      const want = multiSkips ? SKIPPED : EVERYTHING;
      expect(await purgeBehindDurable('rollup', several)).toEqual(want);
      expect(await purgeBehindDurable('purge', several)).toEqual(want);
    },
  );
});
