import { putBucketStream } from '../buckets/internal.js';
import type { JetStreamClient } from '../jetstream/internal.js';
import { KvBucket } from './bucket.js';
import { kvStreamConfig, kvStreams } from './config.js';
import type { KvOptions } from './types.js';

/**
 * Creates a bucket, or updates it to `opts` when it exists with another configuration, and
 * resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`; rejects with
 * `JetStreamApiError` when the server refuses the configuration.
 */
export async function createKeyValue(js: JetStreamClient, opts: KvOptions): Promise<KvBucket> {
  return new KvBucket(js, opts.bucket, await putBucketStream(js, kvStreamConfig(opts, js.nc)));
}

/** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
export async function openKeyValue(js: JetStreamClient, bucket: string): Promise<KvBucket> {
  return new KvBucket(js, bucket, await kvStreams.info(js, bucket));
}

/** Deletes a bucket and all its keys; resolves true. Rejects with `BucketNotFoundError`. */
export function deleteKeyValue(js: JetStreamClient, bucket: string): Promise<boolean> {
  return kvStreams.delete(js, bucket);
}

/** The names of every KV bucket of the account. */
export function keyValueNames(js: JetStreamClient): AsyncIterable<string> {
  return kvStreams.names(js);
}
