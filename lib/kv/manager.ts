import { JetStreamApiError } from '../core/index.js';
import { StreamsApi, type JetStreamClient, type StreamInfo } from '../jetstream/index.js';
import { KvBucket } from './bucket.js';
import { kvStreamConfig, kvStreamName } from './config.js';
import { bucketNotFound } from './errors.js';
import type { KvOptions } from './types.js';
import { validateBucketName } from './validate.js';

const ERR_STREAM_NAME_IN_USE = 10058;

/**
 * Creates a bucket, or updates it to `opts` when it exists with another configuration, and
 * resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`; rejects with
 * `JetStreamApiError` when the server refuses the configuration.
 */
export async function createKeyValue(js: JetStreamClient, opts: KvOptions): Promise<KvBucket> {
  const config = kvStreamConfig(opts, js.nc);
  const streams = new StreamsApi(js.api);
  let info: StreamInfo;
  try {
    info = await streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.apiCode === ERR_STREAM_NAME_IN_USE)) throw err;
    info = await streams.update(config.name, config);
  }
  return new KvBucket(js, opts.bucket, info);
}

/** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
export async function openKeyValue(js: JetStreamClient, bucket: string): Promise<KvBucket> {
  validateBucketName(bucket);
  try {
    return new KvBucket(js, bucket, await new StreamsApi(js.api).info(kvStreamName(bucket)));
  } catch (err) {
    throw bucketNotFound(err, bucket);
  }
}

/** Deletes a bucket and all its keys; resolves true. Rejects with `BucketNotFoundError`. */
export async function deleteKeyValue(js: JetStreamClient, bucket: string): Promise<boolean> {
  validateBucketName(bucket);
  try {
    return await new StreamsApi(js.api).delete(kvStreamName(bucket));
  } catch (err) {
    throw bucketNotFound(err, bucket);
  }
}

/** The names of the account's buckets whose stream has the given prefix and subject pattern. */
export function bucketNames(
  js: JetStreamClient,
  streamPrefix: string,
  subject: string,
): AsyncIterable<string> {
  const names = new StreamsApi(js.api).names(subject);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const name of names) {
        if (name.startsWith(streamPrefix)) yield name.slice(streamPrefix.length);
      }
    },
  };
}

/** The names of every KV bucket of the account. */
export function keyValueNames(js: JetStreamClient): AsyncIterable<string> {
  return bucketNames(js, 'KV_', '$KV.*.>');
}
