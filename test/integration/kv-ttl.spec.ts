// KV limit markers and per-key TTLs (ADR-48 on ADR-43): limitMarkerTtl, create(..., { ttl }),
// purge(..., { ttl }), and watchers seeing expiries as PURGE; refused before sending below 2.11.
import {
  ErrorCode,
  FeatureNotSupportedError,
  InvalidOptionError,
  StreamNotFoundError,
} from '../../lib/core/index.js';
import { MessageTtlDisabledError } from '../../lib/jetstream/index.js';
import {
  BucketNotFoundError,
  type KvBucket,
  type KvOptions,
  type KvWatchEntry,
} from '../../lib/kv/index.js';
import { describeSince, itBefore, testServerVersion } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { bucketName, collect, drainInto, rejection, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const open = (opts: Partial<KvOptions> = {}): Promise<KvBucket> =>
  fx.js.createKeyValue({ bucket: bucketName('ttl'), storage: 'memory', history: 5, ...opts });

const show = (e: KvWatchEntry): string => `${e.key}:${e.operation}${e.isUpdate ? '+' : ''}`;

describeSince('2.11.0', 'KV limit markers', () => {
  it('sets allow_msg_ttl and subject_delete_marker_ttl, and reports limitMarkerTtl', async () => {
    const kv = await open({ limitMarkerTtl: 3000 });
    const status = await kv.status();
    expect(status.limitMarkerTtl).toBe(3000);
    expect(status.streamInfo.config).toMatchObject({
      allowMsgTtl: true,
      subjectDeleteMarkerTtl: 3000,
    });
    expect(await (await open()).status()).toMatchObject({ limitMarkerTtl: 0 });
  });

  it('turns markers on for an existing bucket, and an update without them keeps them', async () => {
    const bucket = bucketName('up');
    await fx.js.createKeyValue({ bucket, storage: 'memory' });
    await fx.js.createKeyValue({ bucket, storage: 'memory', limitMarkerTtl: 2000 });
    const kv = await fx.js.createKeyValue({ bucket, storage: 'memory', history: 3 });
    expect(await kv.status()).toMatchObject({ limitMarkerTtl: 2000, history: 3 });
  });

  it('expires a key created with a ttl, and a watcher sees it as PURGE', async () => {
    const kv = await open({ limitMarkerTtl: 1000 });
    const w = await kv.watch();
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await w.initialized;
    await kv.put('kept', 'v');
    const rev = await kv.create('brief', 'v', { ttl: 1000 });
    const created = await fx.jsm.streams.getMessage(kv.streamName, { seq: rev });
    expect(created.headers?.get('Nats-TTL')).toBe('1s');
    expect((await kv.get('brief'))?.string()).toBe('v');
    await until(() => got.length === 3, 6000).catch((err: unknown) => {
      throw new Error(`watched ${got.map(show).join(' ')}: ${String(err)}`);
    });
    w.stop();
    await done;
    expect(got.map(show)).toEqual(['kept:PUT+', 'brief:PUT+', 'brief:PURGE+']);
    const marker = got[2];
    expect(marker.revision).toBeGreaterThan(rev);
    expect(marker.value.length).toBe(0);
    expect(await kv.get('brief')).toBeNull();
    expect(await collect(kv.keys())).toEqual(['kept']);
    // The key can be created again once it expired.
    expect(await kv.create('brief', 'again')).toBeGreaterThan(marker.revision);
  }, 15_000);

  it("reports the bucket's own ttl expiring a key as PURGE to a watcher", async () => {
    const kv = await open({ ttl: 1000, limitMarkerTtl: 5000 });
    await kv.put('k', 'v');
    const w = await kv.watch({ includeHistory: true });
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    await until(() => got.some((e) => e.operation === 'PURGE'), 6000);
    w.stop();
    await done;
    expect(got.map((e) => `${e.key}:${e.operation}`)).toEqual(['k:PUT', 'k:PURGE']);
    expect(await kv.get('k')).toBeNull();
  }, 15_000);

  it("keeps a key created with ttl 'never' past the bucket's ttl", async () => {
    const kv = await open({ ttl: 1000, limitMarkerTtl: 5000 });
    await kv.create('forever', 'v', { ttl: 'never' });
    await kv.put('aging', 'v');
    await sleep(2500);
    expect((await kv.get('forever'))?.string()).toBe('v');
    expect(await kv.get('aging')).toBeNull();
  }, 10_000);

  it('raises a key ttl below limitMarkerTtl to it (a server rule, so no marker is missed)', async () => {
    const kv = await open({ limitMarkerTtl: 5000 });
    const rev = await kv.create('k', 'v', { ttl: 1000 });
    const stored = await fx.jsm.streams.getMessage(kv.streamName, { seq: rev });
    expect(stored.headers?.get('Nats-TTL')).toBe('5');
  });

  it('purges with a ttl: the purge marker itself expires, leaving no trace of the key', async () => {
    const kv = await open({ limitMarkerTtl: 1000 });
    await kv.put('k', '1');
    await kv.put('k', '2');
    const rev = await kv.purge('k', { ttl: 1000 });
    const marker = await fx.jsm.streams.getMessage(kv.streamName, { seq: rev });
    expect(marker.headers?.get('KV-Operation')).toBe('PURGE');
    expect(marker.headers?.get('Nats-Rollup')).toBe('sub');
    expect(marker.headers?.get('Nats-TTL')).toBe('1s');
    expect((await collect(kv.history('k'))).map((e) => e.operation)).toEqual(['PURGE']);
    let left = 1;
    for (const end = Date.now() + 6000; left > 0 && Date.now() < end;) {
      left = (await kv.status()).values;
      if (left > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toBe(0);
    expect(await collect(kv.history('k'))).toEqual([]);
  }, 15_000);

  it('keeps purge with lastRevision working alongside a ttl', async () => {
    const kv = await open({ limitMarkerTtl: 5000 });
    const rev = await kv.put('k', '1');
    await expect(kv.purge('k', { lastRevision: rev + 7, ttl: 2000 })).rejects.toMatchObject({
      code: ErrorCode.WRONG_LAST_REVISION,
    });
    expect(await kv.purge('k', { lastRevision: rev, ttl: 2000 })).toBe(rev + 1);
  });

  it('refuses create/purge with a ttl on a bucket without limit markers (MessageTtlDisabledError)', async () => {
    const kv = await open();
    await expect(kv.create('k', 'v', { ttl: 2000 })).rejects.toBeInstanceOf(
      MessageTtlDisabledError,
    );
    await expect(kv.purge('k', { ttl: 2000 })).rejects.toMatchObject({
      code: ErrorCode.MESSAGE_TTL_DISABLED,
    });
    expect((await kv.status()).values).toBe(0);
  });

  it('refuses a ttl or limitMarkerTtl that is not whole seconds of at least 1 s', async () => {
    const bucket = bucketName('bad');
    for (const limitMarkerTtl of [0, 999, 1500, -1000]) {
      const err = await rejection(fx.js.createKeyValue({ bucket, limitMarkerTtl }));
      expect(err).toBeInstanceOf(InvalidOptionError);
    }
    await expect(fx.js.keyValue(bucket)).rejects.toBeInstanceOf(BucketNotFoundError);
    const kv = await open({ limitMarkerTtl: 5000 });
    await expect(kv.create('k', 'v', { ttl: 500 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(kv.purge('k', { ttl: 1001 })).rejects.toBeInstanceOf(InvalidOptionError);
    expect((await kv.status()).values).toBe(0);
  });
});

describe('KV TTL features before 2.11', () => {
  itBefore('2.11.0', 'refuses limitMarkerTtl, creating no bucket', async () => {
    const bucket = bucketName('old');
    const err = await rejection(fx.js.createKeyValue({ bucket, limitMarkerTtl: 5000 }));
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toMatchObject({
      feature: 'limitMarkerTtl',
      minVersion: '2.11.0',
      serverVersion: testServerVersion(),
    });
    await expect(fx.jsm.streams.info(`KV_${bucket}`)).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  itBefore('2.11.0', 'refuses create and purge with a ttl, sending nothing', async () => {
    const kv = await open();
    const seen = await fx.spy(`$KV.${kv.bucket}.>`);
    for (const call of [
      () => kv.create('k', 'v', { ttl: 5000 }),
      () => kv.purge('k', { ttl: 'never' }),
    ]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(FeatureNotSupportedError);
      expect(err).toMatchObject({ minVersion: '2.11.0' });
    }
    await fx.nc.flush();
    expect(seen()).toBe(0);
    expect((await kv.status()).values).toBe(0);
  });
});
