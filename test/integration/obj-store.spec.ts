// Object stores: create/open/delete/status/seal, and object put/get/info/list/delete/updateMeta.
import { InvalidOptionError, MsgHeaders, StreamNotFoundError } from '../../lib/core/index.js';
import { BucketNotFoundError } from '../../lib/kv/index.js';
import {
  InvalidObjectNameError,
  ObjectExistsError,
  ObjectNotFoundError,
  StoreSealedError,
  type ObjectStore,
} from '../../lib/obj/index.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (): Promise<ObjectStore> =>
  fx.js.createObjectStore({ bucket: bucketName('o'), storage: 'memory' });

const text = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString();

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
    expect(err).toBeInstanceOf(InvalidOptionError);
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
