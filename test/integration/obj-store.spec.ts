// Object stores: create/open/delete/status/seal, and object put/get/info/list/delete/updateMeta.
import { FeatureNotSupportedError, MsgHeaders, StreamNotFoundError } from '../../lib/core/index.js';
import { BucketNotFoundError } from '../../lib/kv/index.js';
import {
  DigestMismatchError,
  InvalidLinkError,
  InvalidObjectNameError,
  ObjectExistsError,
  ObjectNotFoundError,
  type ObjectStore,
  StoreSealedError,
} from '../../lib/obj/index.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';
import { createHash } from 'node:crypto';

const fx = new JsFixture();
fx.install();

const open = (): Promise<ObjectStore> =>
  fx.js.createObjectStore({ bucket: bucketName('o'), storage: 'memory' });

const text = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString();

const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const digest = (b: Uint8Array): string =>
  `SHA-256=${createHash('sha256').update(b).digest('base64url')}=`;

describe('object stores', () => {
  it('creates the OBJ_ stream with the ADR-20 configuration', async () => {
    const bucket = bucketName('o');
    await fx.js.createObjectStore({ bucket, description: 'files', ttl: 60_000, storage: 'memory' });
    const { config } = await fx.jsm.streams.info(`OBJ_${bucket}`);
    expect(config).toMatchObject({
      name: `OBJ_${bucket}`,
      subjects: [`$O.${bucket}.C.>`, `$O.${bucket}.M.>`],
      description: 'files',
      maxAge: 60_000,
      maxBytes: -1,
      storage: 'memory',
      discard: 'new',
      allowRollupHdrs: true,
      allowDirect: true,
    });
    await expect(fx.js.createObjectStore({ bucket: 'bad.name' })).rejects.toThrow(
      /invalid bucket name/,
    );
  });

  itBefore('2.10.0', 'rejects compression before sending, naming nats-server 2.10', async () => {
    const bucket = bucketName('o');
    const err = await rejection(fx.js.createObjectStore({ bucket, compression: true }));
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect((err as Error).message).toMatch(/compression needs nats-server 2\.10/);
    await expect(fx.jsm.streams.info(`OBJ_${bucket}`)).rejects.toThrow(StreamNotFoundError);
  });

  itSince('2.10.0', 'creates an s2-compressed store that keeps objects intact', async () => {
    const bucket = bucketName('o');
    const os = await fx.js.createObjectStore({ bucket, compression: true, storage: 'memory' });
    const { config } = await fx.jsm.streams.info(`OBJ_${bucket}`);
    expect(config).toMatchObject({ compression: 's2' });
    expect((await os.status()).isCompressed).toBe(true);
    const data = 'abc'.repeat(100_000);
    await os.put({ name: 'big' }, data);
    expect(text(await os.getBytes('big'))).toBe(data);
    expect((await (await open()).status()).isCompressed).toBe(false);
  });

  it('opens, lists, reports status and deletes stores', async () => {
    const os = await open();
    await os.put({ name: 'a' }, 'abc');
    const again = await fx.js.objectStore(os.bucket);
    expect(text(await again.getBytes('a'))).toBe('abc');
    expect(await collect(fx.js.objectStoreNames())).toContain(os.bucket);
    const s = await os.status();
    expect(s).toMatchObject({
      bucket: os.bucket,
      sealed: false,
      ttl: 0,
      storage: 'memory',
      replicas: 1,
      backingStore: 'JetStream',
      streamName: `OBJ_${os.bucket}`,
    });
    expect(s.size).toBeGreaterThan(3);
    await expect(fx.js.deleteObjectStore(os.bucket)).resolves.toBe(true);
    const err = await rejection(fx.js.objectStore(os.bucket));
    expect(err).toBeInstanceOf(BucketNotFoundError);
    expect((err as BucketNotFoundError).code).toBe('BUCKET_NOT_FOUND');
    await expect(fx.js.deleteObjectStore(os.bucket)).rejects.toThrow(BucketNotFoundError);
  });

  it('object calls on a deleted store reject with BucketNotFoundError well before the API timeout', async () => {
    // The default 5 s API timeout: a direct get to a deleted stream is never answered by 2.9,
    // so only the library's stream probe can end it early.
    const bucket = bucketName('o');
    const os = await fx.js.createObjectStore({ bucket, storage: 'memory' });
    await os.put({ name: 'a' }, 'hello');
    await fx.js.deleteObjectStore(bucket);
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => os.get('a')],
      ['info', () => os.info('a')],
      ['put', () => os.put({ name: 'b' }, 'x')],
      ['delete', () => os.delete('a')],
    ];
    for (const [name, call] of calls) {
      const started = Date.now();
      const err = await rejection(call());
      expect([name, err]).toEqual([name, expect.any(BucketNotFoundError)]);
      expect({ name, fast: Date.now() - started < 2000 }).toEqual({ name, fast: true });
    }
  });

  it('seals a store: writes and deletes then fail with StoreSealedError', async () => {
    const os = await open();
    await os.put({ name: 'kept' }, 'data');
    expect((await os.seal()).sealed).toBe(true);
    expect((await os.status()).sealed).toBe(true);
    const err = await rejection(os.put({ name: 'new' }, 'x'));
    expect(err).toBeInstanceOf(StoreSealedError);
    expect((err as StoreSealedError).code).toBe('STORE_SEALED');
    await expect(os.delete('kept')).rejects.toThrow(StoreSealedError);
    await expect(os.updateMeta('kept', { description: 'd' })).rejects.toThrow(StoreSealedError);
    expect(text(await os.getBytes('kept'))).toBe('data');
  });
});

describe('objects', () => {
  it('puts bytes and strings, and reads info with size, chunks, digest and metadata', async () => {
    const os = await open();
    const info = await os.put(
      {
        name: 'hello.txt',
        description: 'greeting',
        headers: new MsgHeaders({ 'Content-Type': 'text/plain', 'X-Multi': ['a', 'b'] }),
        metadata: { lang: 'en' },
      },
      'hello world',
    );
    expect(info).toMatchObject({
      bucket: os.bucket,
      name: 'hello.txt',
      size: 11,
      chunks: 1,
      digest: 'SHA-256=uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek=',
      deleted: false,
      description: 'greeting',
      metadata: { lang: 'en' },
      headers: { 'Content-Type': ['text/plain'], 'X-Multi': ['a', 'b'] },
    });
    expect(info.nuid).toMatch(/^[A-Za-z0-9]{22}$/);
    const read = await os.info('hello.txt');
    expect(read).toMatchObject({ ...info, mtime: expect.any(Date) });
    expect(Math.abs(read!.mtime.getTime() - Date.now())).toBeLessThan(5000);
    expect(text(await os.getBytes('hello.txt'))).toBe('hello world');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    await os.put({ name: 'bin' }, bytes);
    expect(await os.getBytes('bin')).toEqual(bytes);
  });

  it('stores empty objects without chunks', async () => {
    const os = await open();
    const info = await os.put({ name: 'empty' }, new Uint8Array(0));
    expect(info).toMatchObject({ size: 0, chunks: 0 });
    expect(info.digest).toBe('SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(await os.getBytes('empty')).toEqual(new Uint8Array(0));
  });

  it('replaces an object of the same name and purges the old chunks', async () => {
    const os = await open();
    const first = await os.put({ name: 'f', maxChunkSize: 4 }, '0123456789');
    expect(first.chunks).toBe(3);
    const second = await os.put({ name: 'f' }, 'new');
    expect(second.nuid).not.toBe(first.nuid);
    expect(text(await os.getBytes('f'))).toBe('new');
    const info = await fx.jsm.streams.info(os.streamName);
    expect(info.state.messages).toBe(2);
  });

  it('returns null for missing objects and rejects empty names', async () => {
    const os = await open();
    expect(await os.get('nope')).toBeNull();
    expect(await os.getBytes('nope')).toBeNull();
    expect(await os.info('nope')).toBeNull();
    await expect(os.put({ name: '' }, 'x')).rejects.toThrow(InvalidObjectNameError);
    const err = await rejection(os.delete('nope'));
    expect(err).toBeInstanceOf(ObjectNotFoundError);
    expect((err as ObjectNotFoundError).code).toBe('OBJECT_NOT_FOUND');
    await expect(os.updateMeta('nope', { description: 'x' })).rejects.toThrow(ObjectNotFoundError);
  });

  it('deletes objects: a tombstone stays, the chunks go', async () => {
    const os = await open();
    await os.put({ name: 'gone', maxChunkSize: 2 }, 'abcdef');
    await expect(os.delete('gone')).resolves.toBe(true);
    expect(await os.get('gone')).toBeNull();
    expect(await os.info('gone')).toBeNull();
    expect(await os.info('gone', { showDeleted: true })).toMatchObject({
      deleted: true,
      size: 0,
      chunks: 0,
      digest: '',
    });
    expect((await fx.jsm.streams.info(os.streamName)).state.messages).toBe(1);
    await expect(os.delete('gone')).resolves.toBe(true);
  });

  it('lists live objects, or all with showDeleted', async () => {
    const os = await open();
    expect(await collect(os.list())).toEqual([]);
    await os.put({ name: 'a' }, '1');
    await os.put({ name: 'b' }, '2');
    await os.put({ name: 'a' }, '3');
    await os.delete('b');
    expect((await collect(os.list())).map((i) => [i.name, i.size])).toEqual([['a', 1]]);
    const all = await collect(os.list({ showDeleted: true }));
    expect(all.map((i) => [i.name, i.deleted])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('updates metadata and renames, refusing to rename onto a live object', async () => {
    const os = await open();
    await os.put({ name: 'a', description: 'one', metadata: { k: 'v' } }, 'content');
    await os.put({ name: 'taken' }, 'x');
    const updated = await os.updateMeta('a', { description: 'two', headers: { 'X-A': '1' } });
    expect(updated).toMatchObject({ name: 'a', description: 'two', metadata: { k: 'v' } });
    expect((await os.info('a'))?.headers).toEqual({ 'X-A': ['1'] });
    const err = await rejection(os.updateMeta('a', { name: 'taken' }));
    expect(err).toBeInstanceOf(ObjectExistsError);
    const renamed = await os.updateMeta('a', { name: 'b' });
    expect(renamed.name).toBe('b');
    expect(await os.info('a')).toBeNull();
    expect(text(await os.getBytes('b'))).toBe('content');
    expect((await collect(os.list())).map((i) => i.name).sort()).toEqual(['b', 'taken']);
  });

  it('watches objects: current infos, the end of them, then changes', async () => {
    const os = await open();
    await os.put({ name: 'a' }, '1');
    const w = await os.watch();
    const names: string[] = [];
    const done = (async () => {
      for await (const i of w) names.push(`${i.name}${i.deleted ? '-' : ''}`);
    })();
    expect(await w.initialized).toBe(1);
    await os.put({ name: 'b' }, '2');
    await os.delete('a');
    for (let i = 0; i < 200 && names.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    w.stop();
    await done;
    expect(names).toEqual(['a', 'b', 'a-']);
    const empty = await (await open()).watch({ updatesOnly: true });
    expect(await empty.initialized).toBe(0);
    empty.stop();
  });
});

describe('object sizes and chunk boundaries', () => {
  it.each([
    [0, 0],
    [1, 1],
    [1023, 1],
    [1024, 1],
    [1025, 2],
    [2048, 2],
    [2049, 3],
  ])('size %d with 1 KiB chunks gives %d chunks and reads back exactly', async (size, chunks) => {
    const os = await open();
    const data = bytes(size);
    const info = await os.put({ name: `o${size}`, maxChunkSize: 1024 }, data);
    expect(info).toMatchObject({ size, chunks, digest: digest(data) });
    const back = await os.getBytes(`o${size}`);
    expect(Buffer.from(back!).equals(Buffer.from(data))).toBe(true);
    const stored = await os.info(`o${size}`);
    expect(stored).toMatchObject({ size, chunks, digest: digest(data) });
    const st = await fx.jsm.streams.info(os.streamName);
    expect(st.state.messages).toBe(chunks + 1);
  });

  it('the default chunk size is 128 KiB: exactly one chunk and one byte over', async () => {
    const os = await open();
    const one = await os.put({ name: 'a' }, bytes(128 * 1024));
    const two = await os.put({ name: 'b' }, bytes(128 * 1024 + 1));
    expect([one.chunks, two.chunks]).toEqual([1, 2]);
    expect((await os.getBytes('b'))!.length).toBe(128 * 1024 + 1);
  });

  it('an async-iterable source with odd piece sizes is re-chunked at exact boundaries', async () => {
    const os = await open();
    const data = bytes(5000, 7);
    async function* pieces(): AsyncGenerator<Uint8Array> {
      let at = 0;
      for (const n of [1, 999, 24, 1000, 1, 2047, 928]) {
        yield data.subarray(at, at + n);
        at += n;
      }
    }
    const info = await os.put({ name: 'p', maxChunkSize: 1000 }, pieces());
    expect(info).toMatchObject({ size: 5000, chunks: 5, digest: digest(data) });
    expect(Buffer.from((await os.getBytes('p'))!).equals(Buffer.from(data))).toBe(true);
  });
});

describe('object names', () => {
  it.each([
    'dir/sub/file.txt',
    'with space',
    'ümlaut-日本語-😀',
    '.hidden',
    'a.b.c',
    '*',
    '>',
    ' ',
    '%2F..',
  ])('stores, lists, reads and deletes %j', async (name) => {
    const os = await open();
    await os.put({ name }, `content of ${name}`);
    expect((await os.info(name))?.name).toBe(name);
    expect(Buffer.from((await os.getBytes(name))!).toString()).toBe(`content of ${name}`);
    expect((await collect(os.list())).map((i) => i.name)).toEqual([name]);
    expect(await os.delete(name)).toBe(true);
    expect(await os.getBytes(name)).toBeNull();
  });
});

describe('object lifecycle', () => {
  it('put over an existing name purges the old chunks (multi-chunk)', async () => {
    const os = await open();
    const first = await os.put({ name: 'x', maxChunkSize: 100 }, bytes(1000));
    const second = await os.put({ name: 'x', maxChunkSize: 100 }, bytes(250, 3));
    expect(second.nuid).not.toBe(first.nuid);
    const st = await fx.jsm.streams.info(os.streamName, { subjectsFilter: '>' });
    expect(st.state.messages).toBe(3 + 1);
    expect(Object.keys(st.state.subjects ?? {}).some((s) => s.endsWith(first.nuid))).toBe(false);
  });

  it('get / getBytes / info of a deleted object: null; delete again: no error', async () => {
    const os = await open();
    await os.put({ name: 'x' }, 'abc');
    await os.delete('x');
    expect(await os.get('x')).toBeNull();
    expect(await os.getBytes('x')).toBeNull();
    expect(await os.info('x')).toBeNull();
    expect((await os.info('x', { showDeleted: true }))?.deleted).toBe(true);
    await expect(os.delete('x')).resolves.toBe(true);
    expect(await rejection(os.delete('never'))).toBeInstanceOf(ObjectNotFoundError);
  });

  it('detects a chunk replaced in the stream (same size, other bytes)', async () => {
    const os = await open();
    const info = await os.put({ name: 'x', maxChunkSize: 4 }, 'aaaabbbbcccc');
    // Remove the middle chunk and append a different 4-byte chunk on the same chunk subject.
    await fx.jsm.streams.deleteMessage(os.streamName, 2);
    await fx.js.publish(`$O.${os.bucket}.C.${info.nuid}`, 'XXXX');
    const err = await rejection(os.getBytes('x'));
    expect(err).toBeInstanceOf(DigestMismatchError);
  });

  it('detects a missing middle chunk', async () => {
    const os = await open();
    await os.put({ name: 'x', maxChunkSize: 4 }, 'aaaabbbbcccc');
    await fx.jsm.streams.deleteMessage(os.streamName, 2);
    const err = await Promise.race([rejection(os.getBytes('x')), sleep(5000).then(() => 'hung')]);
    expect(err).toBeInstanceOf(DigestMismatchError);
  });

  it('an extra chunk appended after the recorded ones is ignored or reported, never merged', async () => {
    const os = await open();
    const info = await os.put({ name: 'x', maxChunkSize: 4 }, 'aaaabbbb');
    await fx.js.publish(`$O.${os.bucket}.C.${info.nuid}`, 'cccc');
    let out: unknown;
    try {
      out = Buffer.from((await os.getBytes('x'))!).toString();
    } catch (e) {
      out = e;
    }
    if (typeof out === 'string') expect(out).toBe('aaaabbbb');
    else expect(out).toBeInstanceOf(DigestMismatchError);
  });

  it('a link to an object deleted afterwards reads as null (or an error), never stale bytes', async () => {
    const os = await open();
    const t = await os.put({ name: 't' }, 'target');
    await os.link('l', t);
    await os.delete('t');
    let r: unknown;
    try {
      r = await os.getBytes('l');
    } catch (e) {
      r = e;
    }
    expect(r === null || r instanceof Error).toBe(true);
    // Re-creating the target makes the link live again.
    await os.put({ name: 't' }, 'again');
    expect(Buffer.from((await os.getBytes('l'))!).toString()).toBe('again');
  });

  it('link() to a deleted target info, and to a link, is refused', async () => {
    const os = await open();
    const t = await os.put({ name: 't' }, 'x');
    const l = await os.link('l', t);
    expect(await rejection(os.link('l2', l))).toBeInstanceOf(InvalidLinkError);
    await os.delete('t');
    const dead = (await os.info('t', { showDeleted: true }))!;
    expect(await rejection(os.link('l3', dead))).toBeInstanceOf(InvalidLinkError);
  });

  it('updateMeta rename onto a live name is refused and changes nothing; onto a deleted name works', async () => {
    const os = await open();
    await os.put({ name: 'a' }, 'A');
    await os.put({ name: 'b' }, 'B');
    expect(await rejection(os.updateMeta('a', { name: 'b' }))).toBeInstanceOf(ObjectExistsError);
    expect(Buffer.from((await os.getBytes('a'))!).toString()).toBe('A');
    expect(Buffer.from((await os.getBytes('b'))!).toString()).toBe('B');
    await os.delete('b');
    const renamed = await os.updateMeta('a', { name: 'b', description: 'moved' });
    expect(renamed).toMatchObject({ name: 'b', description: 'moved', size: 1 });
    expect(await os.info('a')).toBeNull();
    expect(Buffer.from((await os.getBytes('b'))!).toString()).toBe('A');
    expect((await collect(os.list())).map((i) => i.name)).toEqual(['b']);
    // Putting a new object under the old name must not destroy the renamed object's chunks.
    await os.put({ name: 'a' }, 'new A');
    expect(Buffer.from((await os.getBytes('b'))!).toString()).toBe('A');
  });

  it('updateMeta of a deleted or missing object rejects with ObjectNotFoundError', async () => {
    const os = await open();
    await os.put({ name: 'a' }, 'A');
    await os.delete('a');
    expect(await rejection(os.updateMeta('a', { description: 'x' }))).toBeInstanceOf(
      ObjectNotFoundError,
    );
    expect(await rejection(os.updateMeta('zz', { description: 'x' }))).toBeInstanceOf(
      ObjectNotFoundError,
    );
  });

  it('updateMeta keeps maxChunkSize and content; renaming keeps the digest', async () => {
    const os = await open();
    const put = await os.put({ name: 'a', maxChunkSize: 3 }, 'abcdefg');
    const u = await os.updateMeta('a', { name: 'c', metadata: { k: 'v' } });
    expect(u).toMatchObject({ options: { maxChunkSize: 3 }, digest: put.digest, chunks: 3 });
    expect(Buffer.from((await os.getBytes('c'))!).toString()).toBe('abcdefg');
  });

  it('list() and watch() on an empty store', async () => {
    const os = await open();
    expect(await collect(os.list())).toEqual([]);
    const w = await os.watch();
    expect(await Promise.race([w.initialized, sleep(2000).then(() => -1)])).toBe(0);
    const seen: string[] = [];
    const reader = (async () => {
      for await (const i of w) {
        seen.push(`${i.name}:${i.deleted}`);
        if (seen.length === 2) break;
      }
    })();
    await os.put({ name: 'n' }, 'x');
    await os.delete('n');
    await Promise.race([reader, sleep(2000)]);
    w.stop();
    expect(seen).toEqual(['n:false', 'n:true']);
  });

  it('list() on a store holding only deleted objects is empty, with showDeleted it is not', async () => {
    const os = await open();
    await os.put({ name: 'a' }, 'x');
    await os.delete('a');
    expect(await collect(os.list())).toEqual([]);
    expect((await collect(os.list({ showDeleted: true }))).map((i) => i.name)).toEqual(['a']);
  });
});

describe('object store limits and cancellation', () => {
  it('cancelling a get() stream early removes its chunk consumer', async () => {
    const os = await open();
    await os.put({ name: 'big', maxChunkSize: 1024 }, bytes(64 * 1024));
    const r = await os.get('big');
    const reader = r!.data.getReader();
    await reader.read();
    await reader.cancel();
    await sleep(300);
    expect(await collect(fx.jsm.consumers.names(os.streamName))).toEqual([]);
  });

  it('a chunk size of exactly max_payload works', async () => {
    const os = await open();
    const max = fx.nc.maxPayload;
    const data = bytes(max + 1);
    const info = await os.put({ name: 'm', maxChunkSize: max }, data);
    expect(info.chunks).toBe(2);
    expect(Buffer.from((await os.getBytes('m'))!).equals(Buffer.from(data))).toBe(true);
  });

  it('a very long object name fails cleanly (typed error), leaves no chunks, keeps the connection', async () => {
    const os = await open();
    const name = 'n'.repeat(5000);
    let err: unknown;
    try {
      await os.put({ name }, 'data');
    } catch (e) {
      err = e;
    }
    // Either stored and readable, or a NatsError; the connection must survive.
    await sleep(200);
    expect(fx.nc.isClosed).toBe(false);
    expect(fx.nc.isConnected).toBe(true);
    if (err === undefined) {
      expect(Buffer.from((await os.getBytes(name))!).toString()).toBe('data');
    } else {
      expect((err as { code?: unknown }).code).toEqual(expect.any(String));
      expect((await fx.jsm.streams.info(os.streamName)).state.messages).toBe(0);
    }
    await os.put({ name: 'after' }, 'ok');
  });

  it('a very long KV key fails cleanly with a typed error and keeps the connection', async () => {
    const kv = await fx.js.createKeyValue({ bucket: bucketName('k'), storage: 'memory' });
    let err: unknown;
    try {
      await kv.put('k'.repeat(5000), 'v');
    } catch (e) {
      err = e;
    }
    await sleep(200);
    expect(fx.nc.isConnected).toBe(true);
    if (err !== undefined) expect((err as { code?: unknown }).code).toEqual(expect.any(String));
    expect(await kv.put('ok', 'v')).toBeGreaterThan(0);
  });
});
