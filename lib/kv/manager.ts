import { JetStreamApiError } from '../core/index.js';
import { StreamsApi, type JetStreamClient, type StreamInfo } from '../jetstream/index.js';
import { KvBucket } from './bucket.js';
import { kvStreamConfig, kvStreamName, type StreamConfigExt } from './config.js';
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
  return new KvBucket(js, opts.bucket, await putBucketStream(js, kvStreamConfig(opts, js.nc)));
}

/** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
export async function openKeyValue(js: JetStreamClient, bucket: string): Promise<KvBucket> {
  return new KvBucket(js, bucket, await bucketStreamInfo(js, bucket, kvStreamName));
}

/** Deletes a bucket and all its keys; resolves true. Rejects with `BucketNotFoundError`. */
export function deleteKeyValue(js: JetStreamClient, bucket: string): Promise<boolean> {
  return deleteBucketStream(js, bucket, kvStreamName);
}

// The stream behind a bucket, shared with the object store (whose streams differ by name only).

/** Creates a bucket's stream, or updates it when a stream of that name exists. */
export async function putBucketStream(
  js: JetStreamClient,
  config: StreamConfigExt,
): Promise<StreamInfo> {
  const streams = new StreamsApi(js.api);
  try {
    return await streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.apiCode === ERR_STREAM_NAME_IN_USE)) throw err;
    return await streams.update(config.name, config);
  }
}

/** The info of `bucket`'s stream. Rejects with `BucketNotFoundError`. */
export async function bucketStreamInfo(
  js: JetStreamClient,
  bucket: string,
  streamName: (bucket: string) => string,
): Promise<StreamInfo> {
  validateBucketName(bucket);
  try {
    return await new StreamsApi(js.api).info(streamName(bucket));
  } catch (err) {
    throw bucketNotFound(err, bucket);
  }
}

/** Deletes `bucket`'s stream; resolves true. Rejects with `BucketNotFoundError`. */
export async function deleteBucketStream(
  js: JetStreamClient,
  bucket: string,
  streamName: (bucket: string) => string,
): Promise<boolean> {
  validateBucketName(bucket);
  try {
    return await new StreamsApi(js.api).delete(streamName(bucket));
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
