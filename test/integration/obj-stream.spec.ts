// Object content as streams: streamed puts, chunked gets with bounded memory, digest checks.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  DigestMismatchError,
  encodeName,
  type ObjectInfoWire,
  type ObjectStore,
} from '../../lib/obj/internal.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const MB = 1024 * 1024;

const open = (): Promise<ObjectStore> =>
  fx.js.createObjectStore({ bucket: bucketName('s'), storage: 'memory' });

/** `total` deterministic bytes in pieces of `piece` bytes, generated on the fly. */
async function* generate(total: number, piece: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < total; off += piece) {
    const n = Math.min(piece, total - off);
    const b = new Uint8Array(n);
    for (let i = (512 - (off % 512)) % 512; i < n; i += 512) b[i] = ((off + i) / 512) % 251;
    yield b;
  }
}

/** V8's collector, so memory shows what is retained rather than garbage not yet collected. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function digestOf(it: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of it) h.update(c);
  return `SHA-256=${h.digest('base64url')}=`;
}

describe('streamed puts', () => {
  it('puts from an async iterable, a web ReadableStream and a Node Readable', async () => {
    const os = await open();
    const expected = await digestOf(generate(1 * MB + 17, 10_000));
    const a = await os.put({ name: 'gen' }, generate(1 * MB + 17, 10_000));
    expect(a).toMatchObject({ size: MB + 17, chunks: 9, digest: expected });
    const web = ReadableStream.from(generate(1 * MB + 17, 300_000));
    expect((await os.put({ name: 'web' }, web)).digest).toBe(expected);
    const node = Readable.from(generate(1 * MB + 17, 65_536));
    expect((await os.put({ name: 'node' }, node)).digest).toBe(expected);
    expect(await digestOf((await os.get('node'))!.data)).toBe(expected);
  });

  it('removes the chunks of a put whose source fails', async () => {
    const os = await open();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* generate(512 * 1024, 100_000);
      throw new Error('source broke');
    }
    await expect(os.put({ name: 'broken' }, failing())).rejects.toThrow('source broke');
    expect(await os.info('broken')).toBeNull();
    expect((await fx.jsm.streams.info(os.streamName)).state.messages).toBe(0);
  });
});

// What the process holds after a collection: V8's heap and the buffers outside it. RSS would also
// count memory the allocator freed but kept, which depends on the specs run before in the worker.
const live = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

describe('chunked gets', () => {
  it('puts a 256 MB object from a stream and reads it back as one, memory growth far below its size', async () => {
    const gc = collector();
    // File storage: the server keeps the object on disk rather than in its memory.
    const os = await fx.js.createObjectStore({ bucket: bucketName('big'), storage: 'file' });
    const size = 256 * MB;
    let peakPut = 0;
    gc();
    const putBase = live();
    async function* measured(): AsyncGenerator<Uint8Array> {
      let n = 0;
      for await (const piece of generate(size, MB)) {
        yield piece;
        n += piece.length;
        if (n % (16 * MB) === 0) {
          gc();
          peakPut = Math.max(peakPut, live() - putBase);
        }
      }
    }
    const info = await os.put({ name: 'big' }, measured());
    expect(info.chunks).toBe(2048);
    const r = await os.get('big');
    gc();
    const base = live();
    const received = fx.nc.stats().inBytes;
    let peakGet = 0;
    let ahead = 0;
    let n = 0;
    const h = createHash('sha256');
    for await (const chunk of r!.data) {
      h.update(chunk);
      n += chunk.length;
      ahead = Math.max(ahead, fx.nc.stats().inBytes - received - n);
      if (n % (16 * MB) === 0) {
        // A slow reader: the download must wait for it rather than buffer the object.
        await new Promise((res) => setTimeout(res, 10));
        gc();
        peakGet = Math.max(peakGet, live() - base);
      }
    }
    expect(n).toBe(size);
    expect(`SHA-256=${h.digest('base64url')}=`).toBe(info.digest);
    expect(ahead).toBeLessThan(8 * MB);
    // Measured on 2 cores: 23-37 MiB during the put (32 chunk publishes in flight plus the
    // outbound buffer) and 31-33 MiB during the get; a copy of the object would be 256.
    expect(peakPut).toBeLessThan(64 * MB);
    expect(peakGet).toBeLessThan(64 * MB);
    await fx.js.deleteObjectStore(os.bucket);
  }, 120_000);

  it('fails reads of corrupt objects with DigestMismatchError', async () => {
    const os = await open();
    const good = await os.put({ name: 'x', maxChunkSize: 4 }, 'some content');
    const tamper = async (wire: Partial<ObjectInfoWire>): Promise<void> => {
      const body: ObjectInfoWire = { ...good, mtime: new Date().toISOString(), ...wire };
      await fx.js.publish(`$O.${os.bucket}.M.${encodeName('x')}`, JSON.stringify(body), {
        headers: { 'Nats-Rollup': 'sub' },
      });
    };
    await tamper({ digest: 'SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=' });
    const err = await rejection(os.getBytes('x'));
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as DigestMismatchError).code).toBe('DIGEST_MISMATCH');
    const r = await os.get('x');
    await expect(digestOf(r!.data)).rejects.toThrow(DigestMismatchError);
    await tamper({ size: 5 });
    await expect(os.getBytes('x')).rejects.toThrow(DigestMismatchError);
    await tamper({});
    expect(Buffer.from((await os.getBytes('x'))!).toString()).toBe('some content');
    await fx.jsm.streams.purge(os.streamName, { filter: `$O.${os.bucket}.C.${good.nuid}` });
    await expect(os.getBytes('x')).rejects.toThrow(/expected 12 bytes in 3 chunks, read 0 bytes/);
  });
});

describe('os.get() across a server restart', () => {
  it('resumes the download where it stopped and verifies the digest', async () => {
    const nc = await fx.connect({ reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    const os = await fx.js.createObjectStore({ bucket: bucketName('r'), storage: 'file' });
    const data = new Uint8Array(12 * MB).map((_, i) => (i * 7) % 253);
    await os.put({ name: 'big', maxChunkSize: 64 * 1024 }, data);
    const store = await nc.jetstream().objectStore(os.bucket);
    const r = await store.get('big');
    const hash = createHash('sha256');
    let got = 0;
    let restarting: Promise<void> | undefined;
    for await (const chunk of r!.data) {
      hash.update(chunk);
      got += chunk.length;
      // Restart after 2 MiB: at most 4 MiB more is pulled ahead, the rest is still on the server.
      if (restarting === undefined && got >= 2 * MB) restarting = fx.server.restart();
      if (restarting !== undefined && got < 4 * MB) await new Promise((res) => setTimeout(res, 5));
    }
    await restarting;
    expect(got).toBe(data.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  }, 20_000);
});
