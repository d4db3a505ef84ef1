// Edge cases: Object Store tests against a real nats-server.
import { createHash } from 'node:crypto';
import {
  DigestMismatchError,
  InvalidLinkError,
  ObjectExistsError,
  ObjectNotFoundError,
  type ObjectStore,
} from '../../lib/obj/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (): Promise<ObjectStore> =>
  fx.js.createObjectStore({ bucket: bucketName('o'), storage: 'memory' });

const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const digest = (b: Uint8Array): string =>
  `SHA-256=${createHash('sha256').update(b).digest('base64url')}=`;

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
