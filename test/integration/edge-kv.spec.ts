// Edge cases: Key-Value tests against a real nats-server.
import { InvalidKeyError, KeyExistsError, WrongLastRevisionError } from '../../lib/kv/index.js';
import type { KvBucket } from '../../lib/kv/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (opts: Record<string, unknown> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName('a'), storage: 'memory', ...opts });

/** Counts publishes a connection would make, by watching the wire through a spy. */
async function spyOn(subject: string): Promise<{ count: () => number; stop: () => void }> {
  const spy = await fx.connect();
  let n = 0;
  const sub = spy.subscribe(subject, { callback: () => void n++ });
  await spy.flush();
  return { count: () => n, stop: () => sub.unsubscribe() };
}

describe('KV keys', () => {
  it('accepts every allowed character class and round-trips through get, keys and history', async () => {
    const kv = await open({ history: 3 });
    const keys = [
      'Az09',
      'a-b',
      'a_b',
      'a/b',
      'a=b',
      'a.b.c',
      '-',
      '_',
      '=',
      '/',
      '9',
      'x.-._./.=',
    ];
    for (const k of keys) await kv.put(k, `v:${k}`);
    for (const k of keys) expect((await kv.get(k))?.string()).toBe(`v:${k}`);
    expect((await collect(kv.keys())).sort()).toEqual([...keys].sort());
    expect((await collect(kv.history('a.b.c'))).map((e) => e.key)).toEqual(['a.b.c']);
  });

  it.each([
    ['', 'empty'],
    ['.a', 'leading dot'],
    ['a.', 'trailing dot'],
    ['a..b', 'double dot'],
    ['*', 'star'],
    ['a.>', 'gt'],
    ['a b', 'space'],
    ['ключ', 'unicode'],
    ['a\nb', 'newline'],
    ['a\u0000', 'nul'],
    ['a$b', 'dollar'],
  ])('rejects key %j (%s) with InvalidKeyError on every operation, before any I/O', async (key) => {
    const kv = await open();
    const spy = await spyOn(`$KV.${kv.bucket}.>`);
    const ops: Promise<unknown>[] = [
      kv.put(key, 'x'),
      kv.create(key, 'x'),
      kv.update(key, 'x', 1),
      kv.delete(key),
      kv.purge(key),
    ];
    if (key !== '*' && key !== 'a.>' && key !== '') ops.push(kv.get(key));
    for (const p of ops) expect(await rejection(p)).toBeInstanceOf(InvalidKeyError);
    await sleep(50);
    spy.stop();
    expect(spy.count()).toBe(0);
  });

  it.each(['a b', 'a.>.b', 'a*', '..', 'é'])('rejects watch/keys/history filter %j', async (f) => {
    const kv = await open();
    expect(await rejection(kv.watch({ key: f }))).toBeInstanceOf(InvalidKeyError);
    // keys()/history() are documented to throw (synchronously) for a bad filter.
    const caught = async (fn: () => AsyncIterable<unknown>): Promise<unknown> => {
      try {
        return await rejection(collect(fn()));
      } catch (e) {
        return e;
      }
    };
    expect(await caught(() => kv.keys(f))).toBeInstanceOf(InvalidKeyError);
    expect(await caught(() => kv.history(f))).toBeInstanceOf(InvalidKeyError);
  });
});

describe('KV writes', () => {
  it('create() over a delete marker works, a second create then fails', async () => {
    const kv = await open({ history: 5 });
    await kv.put('k', '1');
    const del = await kv.delete('k');
    const r = await kv.create('k', '2');
    expect(r).toBe(del + 1);
    expect(await rejection(kv.create('k', '3'))).toBeInstanceOf(KeyExistsError);
  });

  it('concurrent create() of one key: exactly one wins', async () => {
    const kv = await open();
    const rs = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => kv.create('race', `${i}`)),
    );
    const ok = rs.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBe(1);
    for (const r of rs)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(KeyExistsError);
  });

  it('concurrent create() over a delete marker: exactly one wins', async () => {
    const kv = await open({ history: 5 });
    await kv.put('race', 'x');
    await kv.delete('race');
    const rs = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => kv.create('race', `${i}`)),
    );
    const ok = rs.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBe(1);
    for (const r of rs)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(KeyExistsError);
  });

  it('update() with a stale revision, and update() of a missing key with 0', async () => {
    const kv = await open();
    const r1 = await kv.put('k', '1');
    await kv.put('k', '2');
    const err = await rejection(kv.update('k', '3', r1));
    expect(err).toBeInstanceOf(WrongLastRevisionError);
    expect((err as WrongLastRevisionError).apiCode).toBe(10071);
    // Revision 0 means "no value yet" for a fresh key.
    expect(await kv.update('fresh', 'x', 0)).toBeGreaterThan(0);
    expect(await rejection(kv.update('fresh', 'y', 0))).toBeInstanceOf(WrongLastRevisionError);
  });

  it('purge(lastRevision) with a stale revision rejects with WrongLastRevisionError', async () => {
    const kv = await open();
    const r1 = await kv.put('k', '1');
    await kv.put('k', '2');
    expect(await rejection(kv.purge('k', { lastRevision: r1 }))).toBeInstanceOf(
      WrongLastRevisionError,
    );
    expect((await kv.get('k'))?.string()).toBe('2');
  });

  it('history is bounded by the bucket history setting, markers count', async () => {
    const kv = await open({ history: 3 });
    for (let i = 0; i < 6; i++) await kv.put('k', `${i}`);
    await kv.delete('k');
    const h = await collect(kv.history('k'));
    expect(h.map((e) => `${e.operation}:${e.string()}`)).toEqual(['PUT:4', 'PUT:5', 'DEL:']);
    expect(await collect(kv.history('nope'))).toEqual([]);
  });

  it('a value past its ttl reads as null and leaves keys()', async () => {
    const kv = await open({ ttl: 400 });
    await kv.put('k', 'v');
    expect((await kv.get('k'))?.string()).toBe('v');
    await sleep(900);
    expect(await kv.get('k')).toBeNull();
    expect(await collect(kv.keys())).toEqual([]);
  });

  it('purgeDeletes({ olderThan: -1 }) removes every marker and its key', async () => {
    const kv = await open({ history: 5 });
    await kv.put('a', '1');
    await kv.delete('a');
    await kv.put('b', '1');
    await kv.purge('b');
    await kv.put('c', '1');
    const n = await kv.purgeDeletes({ olderThan: -1 });
    expect(n).toBe(3);
    expect((await kv.status()).values).toBe(1);
    expect(await collect(kv.history('a'))).toEqual([]);
  });
});

describe('KV watch', () => {
  it('includeHistory + ignoreDeletes where the last entry is a delete still initializes once', async () => {
    const kv = await open({ history: 10 });
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
    const kv = await open();
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
    const kv = await open({ history: 5 });
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
      const kv = await open();
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
