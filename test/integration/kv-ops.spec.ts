// KV key operations: get, put, create, update, delete, purge, purgeDeletes, keys, history.
import { JetStreamApiError } from '../../lib/core/index.js';
import {
  InvalidKeyError,
  KeyExistsError,
  type KvBucket,
  type KvOptions,
  WrongLastRevisionError,
} from '../../lib/kv/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (opts: Partial<KvOptions> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName(), storage: 'memory', history: 10, ...opts });

// A bucket with the server's defaults (history 1) unless `opts` says otherwise.
const openPlain = (opts: Record<string, unknown> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName('a'), storage: 'memory', ...opts });

/** Counts publishes a connection would make, by watching the wire through a spy. */
async function spyOn(subject: string): Promise<{ count: () => number; stop: () => void }> {
  const spy = await fx.connect();
  let n = 0;
  const sub = spy.subscribe(subject, { callback: () => void n++ });
  await spy.flush();
  return { count: () => n, stop: () => sub.unsubscribe() };
}

describe('kv get / put', () => {
  it('puts values and reads the latest as an entry with revision, time and operation', async () => {
    const kv = await open();
    const before = Date.now();
    expect(await kv.put('a', 'one')).toBe(1);
    expect(await kv.put('b.c', new Uint8Array([1, 2, 3]))).toBe(2);
    expect(await kv.put('a', JSON.stringify({ n: 2 }))).toBe(3);
    const e = await kv.get('a');
    expect(e).toMatchObject({
      bucket: kv.bucket,
      key: 'a',
      revision: 3,
      delta: 0,
      operation: 'PUT',
    });
    expect(e!.json()).toEqual({ n: 2 });
    expect(e!.length).toBe(7);
    expect(e!.created.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect([...(await kv.get('b.c'))!.value]).toEqual([1, 2, 3]);
  });

  it('reads a given revision, and null for another key’s revision or a missing one', async () => {
    const kv = await open();
    await kv.put('a', 'v1');
    await kv.put('b', 'x');
    await kv.put('a', 'v2');
    expect((await kv.get('a', { revision: 1 }))?.string()).toBe('v1');
    expect((await kv.get('a', { revision: 3 }))?.string()).toBe('v2');
    expect(await kv.get('a', { revision: 2 })).toBeNull();
    expect(await kv.get('a', { revision: 99 })).toBeNull();
    expect(await kv.get('missing')).toBeNull();
  });

  it('reads deleted and purged keys as null, at their latest and at the marker revision', async () => {
    const kv = await open();
    await kv.put('d', '1');
    const del = await kv.delete('d');
    await kv.put('p', '1');
    const purge = await kv.purge('p');
    expect(await kv.get('d')).toBeNull();
    expect(await kv.get('p')).toBeNull();
    expect(await kv.get('d', { revision: del })).toBeNull();
    expect(await kv.get('p', { revision: purge })).toBeNull();
    expect((await kv.get('d', { revision: 1 }))?.string()).toBe('1');
  });

  it('works the same on a bucket without direct get', async () => {
    const kv = await open({ allowDirect: false });
    await kv.put('a', 'v1');
    await kv.put('a', 'v2');
    await kv.delete('gone');
    expect((await kv.get('a'))?.string()).toBe('v2');
    expect((await kv.get('a', { revision: 1 }))?.string()).toBe('v1');
    expect(await kv.get('gone')).toBeNull();
    expect(await kv.get('missing')).toBeNull();
    expect(await kv.get('a', { revision: 3 })).toBeNull();
    expect((await kv.status()).allowDirect).toBe(false);
  });

  it('rejects invalid and reserved keys with InvalidKeyError before any I/O', async () => {
    const kv = await open();
    for (const p of [kv.put('a b', 'x'), kv.get('a.*'), kv.put('_kv.x', 'x'), kv.delete('.a')]) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(InvalidKeyError);
      expect((err as InvalidKeyError).code).toBe('INVALID_KEY');
    }
  });
});

describe('kv create / update', () => {
  it('creates a key only when it has no value', async () => {
    const kv = await open();
    expect(await kv.create('k', 'first')).toBe(1);
    const err = await rejection(kv.create('k', 'second'));
    expect(err).toBeInstanceOf(KeyExistsError);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as KeyExistsError).code).toBe('KEY_EXISTS');
    expect((err as KeyExistsError).apiCode).toBe(10071);
    expect((await kv.get('k'))?.string()).toBe('first');
  });

  it('creates over a delete or purge marker', async () => {
    const kv = await open();
    await kv.put('k', 'a');
    await kv.delete('k');
    expect(await kv.create('k', 'b')).toBe(3);
    await kv.purge('k');
    expect(await kv.create('k', 'c')).toBe(5);
    expect((await kv.get('k'))?.string()).toBe('c');
  });

  it('updates with compare-and-set on the revision', async () => {
    const kv = await open();
    const r1 = await kv.put('k', 'a');
    const r2 = await kv.update('k', 'b', r1);
    expect(r2).toBe(r1 + 1);
    const err = await rejection(kv.update('k', 'c', r1));
    expect(err).toBeInstanceOf(WrongLastRevisionError);
    expect((err as WrongLastRevisionError).code).toBe('WRONG_LAST_REVISION');
    expect((err as WrongLastRevisionError).apiCode).toBe(10071);
    expect((await kv.get('k'))?.string()).toBe('b');
  });
});

describe('kv delete / purge / purgeDeletes', () => {
  it('deletes with an optional last revision and keeps history', async () => {
    const kv = await open();
    const r1 = await kv.put('k', 'a');
    await expect(kv.delete('k', { lastRevision: r1 + 5 })).rejects.toThrow(WrongLastRevisionError);
    const del = await kv.delete('k', { lastRevision: r1 });
    const ops = (await collect(kv.history('k'))).map((e) => `${e.revision}:${e.operation}`);
    expect(ops).toEqual([`${r1}:PUT`, `${del}:DEL`]);
  });

  it('purges every earlier revision of a key', async () => {
    const kv = await open();
    await kv.put('k', 'a');
    await kv.put('k', 'b');
    await kv.put('other', 'x');
    await kv.purge('k');
    const h = await collect(kv.history('k'));
    expect(h.map((e) => e.operation)).toEqual(['PURGE']);
    expect((await kv.status()).values).toBe(2);
  });

  it('removes old markers entirely and keeps recent ones as the only revision', async () => {
    const kv = await open();
    await kv.put('a', '1');
    await kv.put('a', '2');
    await kv.delete('a');
    await kv.put('b', '1');
    await kv.purge('b');
    await kv.put('c', 'live');
    expect(await kv.purgeDeletes()).toBe(2);
    expect((await collect(kv.history('a'))).map((e) => e.operation)).toEqual(['DEL']);
    expect((await collect(kv.history('b'))).map((e) => e.operation)).toEqual(['PURGE']);
    expect(await kv.purgeDeletes({ olderThan: -1 })).toBe(2);
    expect(await collect(kv.history('a'))).toEqual([]);
    expect(await collect(kv.keys())).toEqual(['c']);
    expect((await kv.status()).values).toBe(1);
  });
});

describe('kv keys / history', () => {
  it('lists live keys, filtered by the server with subject wildcards', async () => {
    const kv = await open();
    for (const k of ['orders.1.status', 'orders.2.status', 'orders.1.total', 'users.a', 'x']) {
      await kv.put(k, 'v');
    }
    await kv.put('x', 'again');
    await kv.delete('users.a');
    expect((await collect(kv.keys())).sort()).toEqual([
      'orders.1.status',
      'orders.1.total',
      'orders.2.status',
      'x',
    ]);
    expect((await collect(kv.keys('orders.*.status'))).sort()).toEqual([
      'orders.1.status',
      'orders.2.status',
    ]);
    expect((await collect(kv.keys('orders.>'))).length).toBe(3);
    expect((await collect(kv.keys(['x', 'orders.1.*', 'x']))).sort()).toEqual([
      'orders.1.status',
      'orders.1.total',
      'x',
    ]);
    expect(await collect(kv.keys('nothing.>'))).toEqual([]);
    expect(() => kv.keys('orders.st*')).toThrow(InvalidKeyError);
  });

  it('lists nothing in an empty bucket', async () => {
    const kv = await open();
    expect(await collect(kv.keys())).toEqual([]);
    expect(await collect(kv.history('k'))).toEqual([]);
  });

  it('yields every stored revision oldest first, markers included, up to the history limit', async () => {
    const kv = await open({ history: 3 });
    for (let i = 1; i <= 5; i++) await kv.put('k', `v${i}`);
    await kv.put('other', 'x');
    await kv.delete('k');
    const h = await collect(kv.history('k'));
    expect(h.map((e) => [e.string(), e.operation])).toEqual([
      ['v4', 'PUT'],
      ['v5', 'PUT'],
      ['', 'DEL'],
    ]);
    expect(h.map((e) => e.delta)).toEqual([2, 1, 0]);
    expect(h.every((e) => e.key === 'k' && e.bucket === kv.bucket)).toBe(true);
  });
});

describe('kv key characters and filters', () => {
  it('accepts every allowed character class and round-trips through get, keys and history', async () => {
    const kv = await openPlain({ history: 3 });
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
    const kv = await openPlain();
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
    const kv = await openPlain();
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

describe('kv writes: races, stale revisions, history and ttl', () => {
  it('create() over a delete marker works, a second create then fails', async () => {
    const kv = await openPlain({ history: 5 });
    await kv.put('k', '1');
    const del = await kv.delete('k');
    const r = await kv.create('k', '2');
    expect(r).toBe(del + 1);
    expect(await rejection(kv.create('k', '3'))).toBeInstanceOf(KeyExistsError);
  });

  it('concurrent create() of one key: exactly one wins', async () => {
    const kv = await openPlain();
    const rs = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => kv.create('race', `${i}`)),
    );
    const ok = rs.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBe(1);
    for (const r of rs)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(KeyExistsError);
  });

  it('concurrent create() over a delete marker: exactly one wins', async () => {
    const kv = await openPlain({ history: 5 });
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
    const kv = await openPlain();
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
    const kv = await openPlain();
    const r1 = await kv.put('k', '1');
    await kv.put('k', '2');
    expect(await rejection(kv.purge('k', { lastRevision: r1 }))).toBeInstanceOf(
      WrongLastRevisionError,
    );
    expect((await kv.get('k'))?.string()).toBe('2');
  });

  it('history is bounded by the bucket history setting, markers count', async () => {
    const kv = await openPlain({ history: 3 });
    for (let i = 0; i < 6; i++) await kv.put('k', `${i}`);
    await kv.delete('k');
    const h = await collect(kv.history('k'));
    expect(h.map((e) => `${e.operation}:${e.string()}`)).toEqual(['PUT:4', 'PUT:5', 'DEL:']);
    expect(await collect(kv.history('nope'))).toEqual([]);
  });

  it('a value past its ttl reads as null and leaves keys()', async () => {
    const kv = await openPlain({ ttl: 400 });
    await kv.put('k', 'v');
    expect((await kv.get('k'))?.string()).toBe('v');
    await sleep(900);
    expect(await kv.get('k')).toBeNull();
    expect(await collect(kv.keys())).toEqual([]);
  });

  it('purgeDeletes({ olderThan: -1 }) removes every marker and its key', async () => {
    const kv = await openPlain({ history: 5 });
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
