import { JetStreamApiError, TimeoutError } from '../../lib/core/index.js';
import type { StreamsApi } from '../../lib/jetstream/index.js';
import { BucketNotFoundError } from '../../lib/kv/index.js';
import { unlessBucketGone } from '../../lib/buckets/internal.js';

// unlessBucketGone() with stand-ins for the read and the one StreamsApi call it makes; the
// real-server behaviour (a get on a deleted bucket) is in test/integration/kv-bucket.spec.ts.

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

/** A read that answers `value` after `ms`, or times out first like a request would. */
function read<T>(answers: { ms: number; value: T }[]) {
  const timeouts: number[] = [];
  const send = (timeout: number): Promise<T> => {
    const { ms, value } = answers[timeouts.length] ?? answers[answers.length - 1];
    timeouts.push(timeout);
    return new Promise((resolve, reject) => {
      if (ms <= timeout) setTimeout(() => resolve(value), ms);
      else setTimeout(() => reject(new TimeoutError('timed out')), timeout);
    });
  };
  return { send, timeouts };
}

const notFound = () => Promise.reject(new JetStreamApiError('stream not found', 10059, 404));
const NEVER = 1e9;

describe('unlessBucketGone()', () => {
  it('asks once, and not the server, when the read answers quickly', async () => {
    const api = streams(notFound);
    const r = read([{ ms: 5, value: 'v' }]);
    await expect(unlessBucketGone(r.send, api, 'KV_b', 'b', 5000)).resolves.toBe('v');
    expect(r.timeouts).toEqual([500]);
    expect(api.calls).toBe(0);
  });

  it('rejects with BucketNotFoundError once a slow read meets a missing stream', async () => {
    const api = streams(notFound);
    const r = read([{ ms: NEVER, value: 'v' }]);
    const started = Date.now();
    const err = await unlessBucketGone(r.send, api, 'KV_b', 'b', 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BucketNotFoundError);
    expect((err as BucketNotFoundError).bucket).toBe('b');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(api.calls).toBe(1);
    expect(r.timeouts).toHaveLength(1);
  });

  it('asks again for the rest of the timeout when the stream exists', async () => {
    const api = streams(() => Promise.resolve({}));
    const r = read([
      { ms: NEVER, value: 'lost' },
      { ms: 20, value: 'second' },
    ]);
    await expect(unlessBucketGone(r.send, api, 'KV_b', 'b', 400)).resolves.toBe('second');
    expect(api.calls).toBe(1);
    expect(r.timeouts[0]).toBe(200);
    expect(r.timeouts[1]).toBeGreaterThan(150);
    // A timer can fire a millisecond before Date.now() shows its full delay passed.
    expect(r.timeouts[1]).toBeLessThanOrEqual(201);
  });

  it("ends with the read's own TimeoutError when the stream exists but nothing answers", async () => {
    const api = streams(() => Promise.reject(new TimeoutError('probe timed out')));
    const r = read([{ ms: NEVER, value: 'v' }]);
    const err = await unlessBucketGone(r.send, api, 'KV_b', 'b', 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('timed out');
    expect(r.timeouts).toHaveLength(2);
  });
});
