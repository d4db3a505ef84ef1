import { JetStreamApiError, TimeoutError } from '../../lib/core/index.js';
import type { StreamsApi } from '../../lib/jetstream/index.js';
import { BucketNotFoundError } from '../../lib/kv/index.js';
import { unlessBucketGone } from '../../lib/kv/internal.js';

// unlessBucketGone() with a stand-in for the one StreamsApi call it makes; the real-server
// behaviour (a get on a deleted bucket) is covered in test/integration/kv-bucket.spec.ts.

function streams(info: () => Promise<unknown>): StreamsApi & { calls: number } {
  const api = {
    calls: 0,
    info: () => {
      api.calls++;
      return info();
    },
  };
  return api as unknown as StreamsApi & { calls: number };
}

const later = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));
const notFound = () => Promise.reject(new JetStreamApiError('stream not found', 10059, 404));

describe('unlessBucketGone()', () => {
  it('does not ask the server when the read answers quickly', async () => {
    const api = streams(notFound);
    await expect(unlessBucketGone(later(5, 'v'), api, 'KV_b', 'b', 1000)).resolves.toBe('v');
    await later(600, undefined);
    expect(api.calls).toBe(0);
  });

  it('rejects with BucketNotFoundError as soon as the probe finds no stream', async () => {
    const api = streams(notFound);
    const never = new Promise<string>(() => undefined);
    const started = Date.now();
    const err = await unlessBucketGone(never, api, 'KV_b', 'b', 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BucketNotFoundError);
    expect((err as BucketNotFoundError).bucket).toBe('b');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(api.calls).toBe(1);
  });

  it('keeps waiting for a slow read when the stream exists', async () => {
    const api = streams(() => Promise.resolve({}));
    await expect(unlessBucketGone(later(150, 'slow'), api, 'KV_b', 'b', 100)).resolves.toBe('slow');
    expect(api.calls).toBe(1);
  });

  it("passes the read's own error through when the probe fails for another reason", async () => {
    const api = streams(() => Promise.reject(new TimeoutError('probe timed out')));
    const read = later(150, undefined).then(() => {
      throw new TimeoutError('read timed out');
    });
    const err = await unlessBucketGone(read, api, 'KV_b', 'b', 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('read timed out');
  });
});
