// Object stores shared with nats.js (@nats-io/obj): objects, multi-chunk content, links and
// metadata written by one client are read by the other with the same digest and bytes.
import { createHash } from 'node:crypto';
import { Objm } from '@nats-io/obj';
import {
  connect as natsJsConnect,
  headers as natsJsHeaders,
  type NatsConnection as NatsJsConnection,
} from '@nats-io/transport-node';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

let theirNc: NatsJsConnection;
beforeEach(async () => {
  theirNc = await natsJsConnect({ servers: fx.server.url });
});
afterEach(async () => {
  await theirNc.close();
});

/** Deterministic bytes that differ from chunk to chunk. */
function content(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 10)) & 0xff;
  return out;
}

const digestOf = (b: Uint8Array): string =>
  `SHA-256=${createHash('sha256').update(b).digest('base64url')}=`;

describe('object store interop with nats.js', () => {
  it('nats.js fetches our objects, multi-chunk and linked, with the same digest and bytes', async () => {
    const bucket = bucketName('ours');
    const os = await fx.js.createObjectStore({ bucket });
    const big = content(1024 * 1024 + 4321);
    const info = await os.put(
      {
        name: 'dir/big.bin',
        description: 'big',
        metadata: { owner: 'us' },
        headers: { 'X-A': 'b' },
      },
      big,
    );
    expect(info.chunks).toBe(9);
    expect(info.digest).toBe(digestOf(big));
    await os.put({ name: 'small' }, 'tiny');
    await os.link('big-link', info);

    const theirs = await new Objm(theirNc).open(bucket);
    const ti = await theirs.info('dir/big.bin');
    expect(ti).toMatchObject({
      name: 'dir/big.bin',
      size: big.length,
      chunks: 9,
      digest: info.digest,
      nuid: info.nuid,
      description: 'big',
      metadata: { owner: 'us' },
    });
    expect(ti!.headers?.get('X-A')).toBe('b');
    expect(Buffer.from((await theirs.getBlob('dir/big.bin'))!).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from((await theirs.getBlob('small'))!).toString()).toBe('tiny');
    const viaLink = await theirs.getBlob('big-link');
    expect(digestOf(viaLink!)).toBe(info.digest);
    const link = await theirs.info('big-link');
    expect(link?.options?.link).toEqual({ bucket, name: 'dir/big.bin' });
    expect((await theirs.list()).map((i) => i.name).sort()).toEqual([
      'big-link',
      'dir/big.bin',
      'small',
    ]);
  });

  it('we fetch objects nats.js put, multi-chunk and linked, with the same digest and bytes', async () => {
    const bucket = bucketName('theirs');
    const theirs = await new Objm(theirNc).create(bucket);
    const big = content(700_000);
    const h = natsJsHeaders();
    h.set('Content-Type', 'application/octet-stream');
    const ti = await theirs.putBlob(
      {
        name: 'blob',
        description: 'from nats.js',
        headers: h,
        options: { max_chunk_size: 50_000 },
      },
      big,
    );
    expect(ti.chunks).toBe(14);
    const streamed = content(300_001);
    const rs = new ReadableStream<Uint8Array>({
      start(c) {
        for (let off = 0; off < streamed.length; off += 70_000)
          c.enqueue(streamed.subarray(off, off + 70_000));
        c.close();
      },
    });
    const si = await theirs.put({ name: 'streamed' }, rs);
    await theirs.link('blob-link', ti);

    const os = await fx.js.objectStore(bucket);
    const info = await os.info('blob');
    expect(info).toMatchObject({
      name: 'blob',
      size: big.length,
      chunks: 14,
      digest: ti.digest,
      description: 'from nats.js',
      headers: { 'Content-Type': ['application/octet-stream'] },
      options: { maxChunkSize: 50_000 },
    });
    expect(info!.digest).toBe(digestOf(big));
    expect(Buffer.from((await os.getBytes('blob'))!).equals(Buffer.from(big))).toBe(true);
    const r = await os.get('streamed');
    expect(r!.info.digest).toBe(si.digest);
    const parts: Uint8Array[] = [];
    for await (const c of r!.data) parts.push(c);
    expect(Buffer.concat(parts).equals(Buffer.from(streamed))).toBe(true);
    expect(digestOf((await os.getBytes('blob-link'))!)).toBe(ti.digest);
    expect((await collect(os.list())).map((i) => i.name).sort()).toEqual([
      'blob',
      'blob-link',
      'streamed',
    ]);

    await os.delete('streamed');
    expect((await theirs.info('streamed'))?.deleted).toBe(true);
    await os.updateMeta('blob', { name: 'renamed' });
    expect(Buffer.from((await theirs.getBlob('renamed'))!).equals(Buffer.from(big))).toBe(true);
  });
});
