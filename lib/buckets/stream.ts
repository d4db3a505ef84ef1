import {
  JetStreamApiError,
  JsApiCode,
  requireServer,
  type NatsConnection,
} from '../core/internal.js';
import {
  StreamsApi,
  type JetStreamClient,
  type StreamConfig,
  type StreamInfo,
} from '../jetstream/internal.js';
import { InvalidBucketNameError, bucketNotFound } from './errors.js';

// The stream behind a bucket, shared by KV and the object store (whose streams differ by name).

/** `StreamConfig` plus the 2.10+ `compression` member the JetStream layer does not type yet. */
export type StreamConfigExt = StreamConfig & { compression?: 's2' | 'none' };

const BUCKET_RE = /^[A-Za-z0-9_-]+$/;

/** Throws `InvalidBucketNameError` unless `name` matches `[A-Za-z0-9_-]+`. */
export function validateBucketName(name: string): void {
  if (typeof name !== 'string' || !BUCKET_RE.test(name)) throw new InvalidBucketNameError(name);
}

/**
 * The `compression` setting of a bucket's stream; only servers 2.10+ know it, so an older one
 * gets `FeatureNotSupportedError`, as a stream's `compression` does.
 */
export function s2Compression(nc: NatsConnection): 's2' {
  requireServer(nc, '2.10.0', 'compression');
  return 's2';
}

/** Creates a bucket's stream, or updates it when a stream of that name exists. */
export async function putBucketStream(
  js: JetStreamClient,
  config: StreamConfigExt,
): Promise<StreamInfo> {
  const streams = new StreamsApi(js.api);
  try {
    return await streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.apiCode === JsApiCode.STREAM_NAME_IN_USE))
      throw err;
    return await streams.update(config.name, config);
  }
}

/** The info of `bucket`'s stream. Rejects with `BucketNotFoundError`. */
export function bucketStreamInfo(
  js: JetStreamClient,
  bucket: string,
  streamName: (bucket: string) => string,
): Promise<StreamInfo> {
  return onBucketStream(js, bucket, streamName, (streams, name) => streams.info(name));
}

/** Deletes `bucket`'s stream; resolves true. Rejects with `BucketNotFoundError`. */
export function deleteBucketStream(
  js: JetStreamClient,
  bucket: string,
  streamName: (bucket: string) => string,
): Promise<boolean> {
  return onBucketStream(js, bucket, streamName, (streams, name) => streams.delete(name));
}

/** Checks the bucket's name, then runs `call` on its stream; a missing stream rejects with `BucketNotFoundError`. */
async function onBucketStream<T>(
  js: JetStreamClient,
  bucket: string,
  streamName: (bucket: string) => string,
  call: (streams: StreamsApi, stream: string) => Promise<T>,
): Promise<T> {
  validateBucketName(bucket);
  try {
    return await call(new StreamsApi(js.api), streamName(bucket));
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

/** An RFC 3339 timestamp with up to nanosecond precision, kept to milliseconds. */
export function parseTime(ts: string | undefined): Date {
  if (!ts) return new Date(0);
  const d = new Date(ts);
  // V8 reads nanosecond fractions itself; trimming them is the portable fallback.
  return Number.isNaN(d.getTime()) ? new Date(ts.replace(/(\.\d{3})\d+/, '$1')) : d;
}
