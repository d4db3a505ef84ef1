// KV buckets: creation and its stream configuration, open, delete, status, listing.
import {
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
  StreamNotFoundError,
} from '../../lib/core/index.js';
import { BucketNotFoundError, InvalidBucketNameError } from '../../lib/kv/index.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

describe('js.createKeyValue()', () => {
  it('creates the KV_ stream with the ADR-8 configuration', async () => {
    const bucket = bucketName();
    await fx.js.createKeyValue({
      bucket,
      description: 'settings',
      history: 5,
      ttl: 60_000,
      maxBytes: 1 << 20,
      maxValueSize: 1024,
      storage: 'memory',
      placement: { tags: [] },
    });
    const { config } = await fx.jsm.streams.info(`KV_${bucket}`);
    expect(config).toMatchObject({
      name: `KV_${bucket}`,
      subjects: [`$KV.${bucket}.>`],
      description: 'settings',
      maxMsgsPerSubject: 5,
      maxAge: 60_000,
      maxBytes: 1 << 20,
      maxMsgSize: 1024,
      maxMsgs: -1,
      storage: 'memory',
      numReplicas: 1,
      discard: 'new',
      allowRollupHdrs: true,
      denyDelete: true,
      allowDirect: true,
      duplicateWindow: 60_000,
    });
  });

  it('uses history 1, no expiry, file storage and a 2 minute duplicate window by default', async () => {
    const bucket = bucketName();
    await fx.js.createKeyValue({ bucket });
    const { config } = await fx.jsm.streams.info(`KV_${bucket}`);
    expect(config).toMatchObject({
      maxMsgsPerSubject: 1,
      maxAge: 0,
      maxBytes: -1,
      maxMsgSize: -1,
      storage: 'file',
      duplicateWindow: 120_000,
    });
    await fx.js.deleteKeyValue(bucket);
  });

  it('rejects bad names and history outside 1..64', async () => {
    await expect(fx.js.createKeyValue({ bucket: 'a.b' })).rejects.toThrow(InvalidBucketNameError);
    await expect(fx.js.createKeyValue({ bucket: 'x', history: 65 })).rejects.toThrow(
      /history must be an integer from 1 to 64/,
    );
    await expect(fx.js.createKeyValue({ bucket: 'x', history: 0 })).rejects.toThrow(
      InvalidOptionError,
    );
  });

  itBefore('2.10.0', 'rejects compression before sending, naming nats-server 2.10', async () => {
    const bucket = bucketName();
    const err = await rejection(fx.js.createKeyValue({ bucket, compression: true }));
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect((err as Error).message).toMatch(/compression needs nats-server 2\.10/);
    await expect(fx.jsm.streams.info(`KV_${bucket}`)).rejects.toThrow(StreamNotFoundError);
  });

  itSince('2.10.0', 'creates an s2-compressed bucket that stores and reads values', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({ bucket, compression: true, storage: 'memory' });
    const { config } = await fx.jsm.streams.info(`KV_${bucket}`);
    expect(config).toMatchObject({ compression: 's2' });
    expect((await kv.status()).isCompressed).toBe(true);
    await kv.put('k', 'x'.repeat(4096));
    expect(Buffer.from((await kv.get('k'))!.value).toString()).toBe('x'.repeat(4096));
    const plain = await fx.js.createKeyValue({ bucket: bucketName(), storage: 'memory' });
    expect((await plain.status()).isCompressed).toBe(false);
  });

  it('updates an existing bucket to the new configuration', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    await kv.put('k', '1');
    await fx.js.createKeyValue({ bucket, storage: 'memory', history: 10 });
    const status = await kv.status();
    expect(status.history).toBe(10);
    expect(status.values).toBe(1);
  });

  it('republishes changes to another subject', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({
      bucket,
      storage: 'memory',
      republish: { dest: `repub.${bucket}.>` },
    });
    const sub = fx.nc.subscribe(`repub.${bucket}.>`);
    await fx.nc.flush();
    await kv.put('a.b', 'hello');
    const m = await sub.nextMsg(2000);
    expect(m.subject).toBe(`repub.${bucket}.a.b`);
    expect(m.string()).toBe('hello');
  });

  it('enforces maxValueSize and expires values after ttl', async () => {
    const kv = await fx.js.createKeyValue({
      bucket: bucketName(),
      storage: 'memory',
      maxValueSize: 8,
      ttl: 400,
    });
    const err = await rejection(kv.put('big', '0123456789'));
    expect(err).toBeInstanceOf(JetStreamApiError);
    await kv.put('k', 'v');
    expect((await kv.get('k'))?.string()).toBe('v');
    await new Promise((r) => setTimeout(r, 900));
    expect(await kv.get('k')).toBeNull();
  });
});

describe('js.keyValue() / js.deleteKeyValue()', () => {
  it('opens an existing bucket and rejects a missing one with BucketNotFoundError', async () => {
    const bucket = bucketName();
    await (await fx.js.createKeyValue({ bucket, storage: 'memory' })).put('k', 'v');
    const kv = await fx.js.keyValue(bucket);
    expect(kv.bucket).toBe(bucket);
    expect(kv.streamName).toBe(`KV_${bucket}`);
    expect((await kv.get('k'))?.string()).toBe('v');
    const err = await rejection(fx.js.keyValue('missing_bucket'));
    expect(err).toBeInstanceOf(BucketNotFoundError);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as BucketNotFoundError).code).toBe('BUCKET_NOT_FOUND');
    expect((err as BucketNotFoundError).apiCode).toBe(10059);
  });

  it('deletes a bucket; later calls report BucketNotFoundError', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    await expect(fx.js.deleteKeyValue(bucket)).resolves.toBe(true);
    await expect(fx.js.keyValue(bucket)).rejects.toThrow(BucketNotFoundError);
    await expect(fx.js.deleteKeyValue(bucket)).rejects.toThrow(BucketNotFoundError);
    await expect(kv.status()).rejects.toThrow(BucketNotFoundError);
    await expect(kv.watch()).rejects.toThrow(BucketNotFoundError);
  });

  it('reads and writes on a deleted bucket reject with BucketNotFoundError well before the API timeout', async () => {
    const bucket = bucketName();
    // The default 5 s API timeout: a direct get to a deleted stream is never answered by 2.9,
    // so only the library's stream probe can end it early.
    const kv = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    const rev = await kv.put('k', 'v');
    await fx.js.deleteKeyValue(bucket);
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => kv.get('k')],
      ['put', () => kv.put('k', 'w')],
      ['create', () => kv.create('n', 'w')],
      ['update', () => kv.update('k', 'w', rev)],
      ['delete', () => kv.delete('k')],
      ['purge', () => kv.purge('k')],
    ];
    for (const [name, call] of calls) {
      const started = Date.now();
      const err = await rejection(call());
      expect([name, err]).toEqual([name, expect.any(BucketNotFoundError)]);
      expect((err as BucketNotFoundError).bucket).toBe(bucket);
      expect({ name, fast: Date.now() - started < 2000 }).toEqual({ name, fast: true });
    }
    // The connection keeps working, and a new bucket of that name works again.
    const again = await fx.js.createKeyValue({ bucket, storage: 'memory' });
    await again.put('k', 'v2');
    expect((await kv.get('k'))?.string()).toBe('v2');
  });
});

describe('kv.status() and js.keyValueNames()', () => {
  it('reports values, history, ttl, bytes and the backing stream', async () => {
    const bucket = bucketName();
    const kv = await fx.js.createKeyValue({
      bucket,
      history: 3,
      ttl: 3_600_000,
      storage: 'memory',
    });
    await kv.put('a', '1');
    await kv.put('a', '2');
    await kv.delete('b');
    const s = await kv.status();
    expect(s).toMatchObject({
      bucket,
      values: 3,
      history: 3,
      ttl: 3_600_000,
      backingStore: 'JetStream',
      streamName: `KV_${bucket}`,
      storage: 'memory',
      replicas: 1,
      isCompressed: false,
      allowDirect: true,
    });
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.streamInfo.state.lastSeq).toBe(3);
  });

  it('lists bucket names and no other streams', async () => {
    const a = bucketName();
    const b = bucketName();
    await fx.js.createKeyValue({ bucket: a, storage: 'memory' });
    await fx.js.createKeyValue({ bucket: b, storage: 'memory' });
    await fx.stream();
    const names = await collect(fx.js.keyValueNames());
    expect(names).toEqual(expect.arrayContaining([a, b]));
    expect(names.every((n) => !n.startsWith('S'))).toBe(true);
  });
});
