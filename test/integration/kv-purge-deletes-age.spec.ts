// kv.purgeDeletes({ olderThan }) with a positive age threshold: markers older than it go with
// their key's whole history, newer ones stay as the key's only revision, live keys are untouched.
import type { KvBucket } from '../../lib/kv/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

// Markers written before the pause are older than the threshold when purgeDeletes() runs, and
// those written after it are younger: the margins on both sides are over a second, so a slow
// machine cannot move a marker across the line.
const OLDER_THAN = 1500;
const PAUSE = OLDER_THAN + 1000;

const ops = async (kv: KvBucket, key: string): Promise<string[]> =>
  (await collect(kv.history(key))).map((e) => `${e.operation}:${e.string()}`);

describe('kv.purgeDeletes({ olderThan })', () => {
  it('removes markers older than the threshold with their history and keeps newer ones alone', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName(), history: 10, storage: 'memory' });
    await kv.put('old-del', '1');
    await kv.put('old-del', '2');
    await kv.delete('old-del');
    await kv.put('old-purge', '1');
    await kv.purge('old-purge');
    await kv.put('live', 'a');
    await sleep(PAUSE);
    const started = Date.now();
    await kv.put('new-del', '1');
    await kv.put('new-del', '2');
    await kv.delete('new-del');
    await kv.put('new-purge', '1');
    await kv.purge('new-purge');
    await kv.put('live', 'b');
    // Before: 3 + 1 (the purge rolled up its key) + 3 + 1 + 2 messages.
    expect((await kv.status()).values).toBe(10);

    const removed = await kv.purgeDeletes({ olderThan: OLDER_THAN });
    // The "new" markers must still have been younger than the threshold for the check to mean anything.
    expect(Date.now() - started).toBeLessThan(OLDER_THAN);

    // Old: marker and history gone (3 + 1); new DEL: its 2 values gone, marker kept.
    expect(removed).toBe(6);
    expect(await ops(kv, 'old-del')).toEqual([]);
    expect(await ops(kv, 'old-purge')).toEqual([]);
    expect(await ops(kv, 'new-del')).toEqual(['DEL:']);
    expect(await ops(kv, 'new-purge')).toEqual(['PURGE:']);
    expect(await ops(kv, 'live')).toEqual(['PUT:a', 'PUT:b']);
    expect(await collect(kv.keys())).toEqual(['live']);
    const status = await kv.status();
    expect(status.values).toBe(4);
    expect(status.streamInfo.state.numSubjects).toBe(3);
    expect(await kv.get('new-del')).toBeNull();
    expect(await kv.get('old-del')).toBeNull();

    // Once they are old too, the kept markers go as well; the live key still stays.
    await sleep(PAUSE);
    expect(await kv.purgeDeletes({ olderThan: OLDER_THAN })).toBe(2);
    expect(await ops(kv, 'new-del')).toEqual([]);
    expect(await ops(kv, 'new-purge')).toEqual([]);
    expect(await ops(kv, 'live')).toEqual(['PUT:a', 'PUT:b']);
    expect((await kv.status()).values).toBe(2);
  }, 20_000);

  it('a repeated call with the same threshold removes nothing more while the markers are young', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName(), history: 10, storage: 'memory' });
    await kv.put('k', '1');
    await kv.delete('k');
    expect(await kv.purgeDeletes({ olderThan: 60_000 })).toBe(1);
    expect(await kv.purgeDeletes({ olderThan: 60_000 })).toBe(0);
    expect(await ops(kv, 'k')).toEqual(['DEL:']);
  });

  // As in nats.js; nats.go reads 0 as its 30-minute default instead.
  it('olderThan: 0 removes every marker with its key, however young', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName(), history: 10, storage: 'memory' });
    await kv.put('d', '1');
    await kv.delete('d');
    await kv.put('p', '1');
    await kv.purge('p');
    await kv.put('live', 'a');
    expect(await kv.purgeDeletes({ olderThan: 0 })).toBe(3);
    expect(await ops(kv, 'd')).toEqual([]);
    expect(await ops(kv, 'p')).toEqual([]);
    expect(await ops(kv, 'live')).toEqual(['PUT:a']);
  });
});
