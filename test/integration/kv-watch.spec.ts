// kv.watch(): initial values, the end-of-initial-values signal, live updates and the options.
import { InvalidOptionError } from '../../lib/core/index.js';
import { type KvBucket, type KvOptions, type KvWatchEntry } from '../../lib/kv/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, drainInto, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (opts: Partial<KvOptions> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName(), storage: 'memory', history: 10, ...opts });

// A bucket with the server's defaults (history 1) unless `opts` says otherwise.
const openPlain = (opts: Record<string, unknown> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName('a'), storage: 'memory', ...opts });

const show = (e: KvWatchEntry): string =>
  `${e.key}=${e.string()}@${e.revision}${e.operation === 'PUT' ? '' : ':' + e.operation}` +
  (e.isUpdate ? '+' : '');

describe('kv.watch()', () => {
  it('delivers the latest value of each key, signals the end of them, then live changes', async () => {
    const kv = await open();
    await kv.put('a', '1');
    await kv.put('b', '1');
    await kv.put('a', '2');
    await kv.delete('c');
    const w = await kv.watch();
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(3);
    expect(w.isInitialized).toBe(true);
    await kv.put('b', '2');
    await kv.purge('a');
    await until(() => got.length === 5).catch((e) => {
      console.error('GOT', got.map(show));
      throw e;
    });
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['b=1@2', 'a=2@3', 'c=@4:DEL', 'b=2@5+', 'a=@6:PURGE+']);
    expect(got.slice(0, 3).map((e) => e.delta)).toEqual([2, 1, 0]);
  });

  it('marks the end of the initial values in the iteration itself with initialValues()', async () => {
    const kv = await open();
    await kv.put('a', '1');
    await kv.put('b', '1');
    const w = await kv.watch();
    const initial: string[] = [];
    for await (const e of w.initialValues()) initial.push(show(e));
    expect(initial).toEqual(['a=1@1', 'b=1@2']);
    await kv.put('a', '2');
    const updates: string[] = [];
    for await (const e of w) {
      updates.push(show(e));
      break;
    }
    expect(updates).toEqual(['a=2@3+']);
    const empty = await (await open()).watch();
    const none: KvWatchEntry[] = [];
    for await (const e of empty.initialValues()) none.push(e);
    expect(none).toEqual([]);
    empty.stop();
  });

  it('signals at once on an empty bucket and then delivers updates', async () => {
    const kv = await open();
    const w = await kv.watch();
    expect(await w.initialized).toBe(0);
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await kv.put('x', 'new');
    await until(() => got.length === 1);
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['x=new@1+']);
  });

  it('watches one key or a wildcard filter', async () => {
    const kv = await open();
    await kv.put('orders.1', 'a');
    await kv.put('orders.2', 'b');
    await kv.put('users.1', 'c');
    const one = await kv.watch({ key: 'orders.1' });
    const wild = await kv.watch({ key: 'orders.*' });
    const a: KvWatchEntry[] = [];
    const b: KvWatchEntry[] = [];
    const done = [drainInto(one, a), drainInto(wild, b)];
    expect(await one.initialized).toBe(1);
    expect(await wild.initialized).toBe(2);
    await kv.put('users.1', 'd');
    await kv.put('orders.3', 'e');
    await kv.put('orders.1', 'f');
    await until(() => a.length === 2 && b.length === 4);
    one.stop();
    wild.stop();
    await Promise.all(done);
    expect(a.map(show)).toEqual(['orders.1=a@1', 'orders.1=f@6+']);
    expect(b.map(show)).toEqual(['orders.1=a@1', 'orders.2=b@2', 'orders.3=e@5+', 'orders.1=f@6+']);
  });

  it('includeHistory delivers every stored revision first', async () => {
    const kv = await open();
    await kv.put('a', '1');
    await kv.put('a', '2');
    await kv.delete('a');
    await kv.put('b', '1');
    const w = await kv.watch({ includeHistory: true });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(4);
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['a=1@1', 'a=2@2', 'a=@3:DEL', 'b=1@4']);
  });

  it('ignoreDeletes skips markers but still signals the end of the initial values', async () => {
    const kv = await open();
    await kv.put('a', '1');
    await kv.delete('b');
    const w = await kv.watch({ ignoreDeletes: true });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(1);
    await kv.delete('a');
    await kv.put('c', '1');
    await until(() => got.length === 2);
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['a=1@1', 'c=1@4+']);
  });

  it('updatesOnly skips the current values', async () => {
    const kv = await open();
    await kv.put('a', 'old');
    const w = await kv.watch({ updatesOnly: true });
    expect(await w.initialized).toBe(0);
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await kv.put('a', 'new');
    await until(() => got.length === 1);
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['a=new@2+']);
    await expect(kv.watch({ updatesOnly: true, includeHistory: true })).rejects.toThrow(
      /updatesOnly excludes/,
    );
  });

  it('metaOnly delivers entries without values but with their size', async () => {
    const kv = await open();
    await kv.put('a', 'x'.repeat(1000));
    const w = await kv.watch({ metaOnly: true });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await w.initialized;
    w.stop();
    await done;
    expect(got).toHaveLength(1);
    expect(got[0].value.length).toBe(0);
    expect(got[0].length).toBe(1000);
    expect(got[0].revision).toBe(1);
  });

  it('resumes from a revision', async () => {
    const kv = await open();
    for (let i = 1; i <= 5; i++) await kv.put(`k${i}`, `${i}`);
    const w = await kv.watch({ resumeFromRevision: 4 });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(2);
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['k4=4@4', 'k5=5@5']);
    const later = await kv.watch({ resumeFromRevision: 50 });
    expect(await later.initialized).toBe(0);
    later.stop();
  });

  it('delivers thousands of initial values exactly once, in order', async () => {
    const kv = await open();
    const n = 3000;
    await Promise.all(Array.from({ length: n }, (_, i) => kv.put(`k.${i}`, `${i}`)));
    const w = await kv.watch();
    const revisions: number[] = [];
    for await (const e of w) {
      revisions.push(e.revision);
      if (revisions.length === n) break;
    }
    expect(await w.initialized).toBe(n);
    expect(revisions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  // A watch that starts while a writer is busy: the snapshot's last value can arrive before the
  // watcher has its consumer, and the consumer is then restarted after the snapshot. Changes
  // the first consumer delivered before that restart used to come twice (and out of order).
  it('delivers every change after the snapshot exactly once when writes race its start', async () => {
    const problems: string[] = [];
    for (let round = 0; round < 15; round++) {
      // History deep enough that no change is superseded and removed before the watch reads
      // it (at most 30 writes per key): a watch that lags behind a history-1 bucket rightly
      // misses values already replaced, which is not what this test is about.
      const kv = await open({ history: 64 });
      await Promise.all(Array.from({ length: 50 }, (_, i) => kv.put(`k${i}`, `${i}`)));
      let writing = true;
      let lastRevision = 0;
      const writer = (async () => {
        for (let i = 0; writing && i < 1500; i++) lastRevision = await kv.put(`w${i % 50}`, `${i}`);
      })();
      const w = await kv.watch();
      const entries: KvWatchEntry[] = [];
      const reader = drainInto(w, entries);
      await new Promise((r) => setTimeout(r, 150));
      writing = false;
      await writer;
      const initial = await w.initialized;
      await until(() => entries.at(-1)?.revision === lastRevision);
      w.stop();
      await reader;
      const revs = entries.map((e) => e.revision);
      const snapshotEnd = Math.max(...revs.slice(0, initial));
      const changes = revs.slice(initial);
      const expected = Array.from(
        { length: lastRevision - snapshotEnd },
        (_, i) => snapshotEnd + 1 + i,
      );
      if (JSON.stringify(changes) !== JSON.stringify(expected)) {
        problems.push(`round ${round}: changes ${changes.length}, expected ${expected.length}`);
      }
    }
    expect(problems).toEqual([]);
  }, 30_000);

  it('stops its consumer when stopped or when the loop breaks', async () => {
    const kv = await open();
    await kv.put('a', '1');
    const w = await kv.watch();
    for await (const e of w) {
      expect(e.key).toBe('a');
      break;
    }
    (await kv.watch()).stop();
    let consumers: string[] = [];
    for (let i = 0; i < 100; i++) {
      consumers = [];
      for await (const c of fx.jsm.consumers.names(kv.streamName)) consumers.push(c);
      if (consumers.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(consumers).toEqual([]);
  });

  it('follows a bucket that was deleted and created again, from the start of the new one', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    for (const k of ['a', 'b', 'c', 'd']) await kv.put(k, 'old');
    const w = await kv.watch({ idleHeartbeat: 200 });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await w.initialized;
    await fx.js.deleteKeyValue(bucket);
    const again = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    for (const k of ['x', 'y']) await again.put(k, 'new');
    await until(() => got.length === 6, 8000).catch(() => undefined);
    w.stop();
    await done;
    expect(got.map(show)).toEqual([
      'a=old@1',
      'b=old@2',
      'c=old@3',
      'd=old@4',
      'x=new@1+',
      'y=new@2+',
    ]);
  }, 15_000);

  it('refuses an idle heartbeat that is not a usable number of ms', async () => {
    const kv = await open();
    await expect(kv.watch({ idleHeartbeat: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('includeHistory + ignoreDeletes where the last entry is a delete still initializes once', async () => {
    const kv = await openPlain({ history: 10 });
    await kv.put('a', '1');
    await kv.put('a', '2');
    await kv.delete('a');
    const w = await kv.watch({ includeHistory: true, ignoreDeletes: true });
    const n = await Promise.race([w.initialized, sleep(2000).then(() => -1)]);
    const initial = await collect(w.initialValues());
    w.stop();
    expect(n).toBe(2);
    expect(initial.map((e) => e.string())).toEqual(['1', '2']);
  });

  it('updatesOnly on a big bucket: initialized at once, only later writes delivered', async () => {
    const kv = await openPlain();
    await Promise.all(Array.from({ length: 2000 }, (_, i) => kv.put(`k${i}`, `${i}`)));
    const w = await kv.watch({ updatesOnly: true });
    expect(await w.initialized).toBe(0);
    const got: string[] = [];
    const done = (async () => {
      for await (const e of w) {
        got.push(e.key);
        if (got.length === 2) break;
      }
    })();
    await kv.put('new1', 'x');
    await kv.put('k5', 'y');
    await done;
    expect(got).toEqual(['new1', 'k5']);
  });

  it('initialized settles exactly once while writers race the initial values', async () => {
    const kv = await openPlain({ history: 5 });
    await Promise.all(Array.from({ length: 1500 }, (_, i) => kv.put(`k${i % 300}`, `${i}`)));
    const writer = (async () => {
      for (let i = 0; i < 100; i++) await kv.put(`live${i % 10}`, `${i}`);
    })();
    const w = await kv.watch({ includeHistory: true });
    const entries: { rev: number; upd: boolean }[] = [];
    const reader = (async () => {
      for await (const e of w) {
        entries.push({ rev: e.revision, upd: e.isUpdate });
        if (e.key === 'live9' && e.string() === '99') break;
      }
    })();
    await writer;
    await Promise.race([reader, sleep(5000)]);
    w.stop();
    const revs = entries.map((e) => e.rev);
    expect(new Set(revs).size).toBe(revs.length);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    // isUpdate flips from false to true once, never back.
    const flips = entries.filter((e, i) => i > 0 && e.upd !== entries[i - 1].upd).length;
    expect(flips).toBeLessThanOrEqual(1);
    expect(entries.at(-1)?.upd).toBe(true);
  });

  it('a last_per_subject watch misses no write made right after its snapshot', async () => {
    for (let round = 0; round < 5; round++) {
      const kv = await openPlain();
      await Promise.all(Array.from({ length: 200 }, (_, i) => kv.put(`k${i}`, `${i}`)));
      const w = await kv.watch();
      const keys: string[] = [];
      const reader = (async () => {
        for await (const e of w) {
          keys.push(`${e.key}=${e.string()}`);
          if (e.key === 'after4') break;
        }
      })();
      for (let i = 0; i < 5; i++) await kv.put(`after${i}`, 'x');
      await Promise.race([reader, sleep(3000)]);
      w.stop();
      const after = keys.filter((k) => k.startsWith('after'));
      expect(after).toEqual(['after0=x', 'after1=x', 'after2=x', 'after3=x', 'after4=x']);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.length).toBe(205);
    }
  });
});
