// The KV watch restart after a last-per-subject snapshot (a workaround for nats-server#7005, fixed
// in 2.11.7), measured on each release: a plain ordered consumer with deliver policy
// last_per_subject reads a stream with a per-subject limit (a KV bucket) while the keys its
// snapshot has not reached yet are overwritten. Measured (2 rounds each): every change arrives
// in order on 2.9.10, 2.10.27, 2.11.17, 2.12.15 and 2.14.10; 2.9.10 sends an older stream
// sequence after a later one once (the ordered consumer resets and loses nothing), 2.10+ never.
// The watch restarts its consumer after the snapshot only below 2.11.7.
import type { JsMsg } from '../../lib/jetstream/index.js';
import { serverAtLeast, testServerVersion } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

async function snapshotUnderWrites(perSubject: number, keys: number, overwrite: number) {
  const { stream, subj } = await fx.stream({ maxMsgsPerSubject: perSubject, storage: 'file' });
  const big = new Uint8Array(32 * 1024);
  for (let r = 0; r < perSubject; r++)
    await Promise.all(Array.from({ length: keys }, (_, i) => fx.js.publish(`${subj}.k${i}`, big)));
  const got: number[] = [];
  const oc = await fx.js.consumers.ordered(stream, {
    filterSubject: `${subj}.>`,
    deliverPolicy: 'last_per_subject',
    callback: async (m: JsMsg) => {
      got.push(m.seq);
      if (got.length < 20) await sleep(5); // a slow start, so the writes overtake the snapshot
    },
  });
  // Overwrite the keys with the highest sequences (the snapshot reaches them last).
  const changes: number[] = [];
  for (let r = 0; r < perSubject; r++)
    for (let i = keys - overwrite; i < keys; i++)
      changes.push((await fx.js.publish(`${subj}.k${i}`, 'z')).seq);
  await until(() => got.includes(changes[changes.length - 1]), 8000);
  await sleep(200);
  oc.stop();
  const backwards = got.filter((s, i) => i > 0 && s <= got[i - 1]).length;
  return { got, changes, resets: oc.resets, backwards };
}

describe(`last-per-subject snapshot on nats-server ${testServerVersion()}`, () => {
  it.each([
    ['history 1', 1, 300, 100],
    ['history 5', 5, 100, 40],
  ])(
    'delivers every change written during the snapshot, in order (%s)',
    async (_, per, keys, n) => {
      const { got, changes, resets, backwards } = await snapshotUnderWrites(per, keys, n);
      expect(changes.filter((s) => !got.includes(s))).toEqual([]);
      expect(backwards).toBe(0);
      // 2.9.10 went back to an older sequence once (history 1), which the consumer repaired.
      if (serverAtLeast('2.10.0')) expect(resets).toBe(0);
    },
  );

  it(`a KV watch restarts its consumer after the snapshot only below 2.11.7`, async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName('snap'), history: 5 });
    for (let i = 0; i < 20; i++) await kv.put(`k${i % 5}`, `${i}`);
    const creates: string[] = [];
    const spy = await fx.connect();
    spy.subscribe('$JS.API.CONSUMER.CREATE.>', { callback: (m) => void creates.push(m.subject) });
    await spy.flush();
    const w = await kv.watch();
    expect(await w.initialized).toBe(5);
    await kv.put('k0', 'after');
    const seen: string[] = [];
    for await (const e of w) {
      seen.push(e.string());
      if (e.string() === 'after') break;
    }
    expect(seen).toEqual(['15', '16', '17', '18', '19', 'after']);
    // The spy sees the requests on another connection, a little later than the watch acts.
    const expected = serverAtLeast('2.11.7') ? 1 : 2;
    await until(() => creates.length >= expected, 5000).catch(() => undefined);
    await spy.flush();
    expect(creates.length).toBe(expected);
  });
});
