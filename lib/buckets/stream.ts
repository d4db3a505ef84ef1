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

/**
 * The streams behind one kind of bucket (KV's `KV_<bucket>`, the object store's `OBJ_<bucket>`),
 * and the calls on them that both kinds make the same way.
 */
export class BucketStreams {
  constructor(
    /** What the stream's name puts before the bucket's name. */
    private readonly prefix: string,
    /** A subject that this kind's streams capture and no other's, to list them. */
    private readonly subject: string,
  ) {}

  /** The name of `bucket`'s stream. */
  nameOf(bucket: string): string {
    return this.prefix + bucket;
  }

  /** The info of `bucket`'s stream. Rejects with `BucketNotFoundError`. */
  info(js: JetStreamClient, bucket: string): Promise<StreamInfo> {
    return this.call(js, bucket, (streams, name) => streams.info(name));
  }

  /** Deletes `bucket`'s stream; resolves true. Rejects with `BucketNotFoundError`. */
  delete(js: JetStreamClient, bucket: string): Promise<boolean> {
    return this.call(js, bucket, (streams, name) => streams.delete(name));
  }

  /** The names of the account's buckets of this kind. */
  names(js: JetStreamClient): AsyncIterable<string> {
    const { prefix } = this;
    const names = new StreamsApi(js.api).names(this.subject);
    return {
      async *[Symbol.asyncIterator]() {
        for await (const name of names) {
          if (name.startsWith(prefix)) yield name.slice(prefix.length);
        }
      },
    };
  }

  /** Checks the bucket's name, then runs `op` on its stream; a missing one rejects with BucketNotFoundError. */
  private async call<T>(
    js: JetStreamClient,
    bucket: string,
    op: (streams: StreamsApi, stream: string) => Promise<T>,
  ): Promise<T> {
    validateBucketName(bucket);
    try {
      return await op(new StreamsApi(js.api), this.nameOf(bucket));
    } catch (err) {
      throw bucketNotFound(err, bucket);
    }
  }
}

/** An RFC 3339 timestamp with up to nanosecond precision, kept to milliseconds. */
export function parseTime(ts: string | undefined): Date {
  if (!ts) return new Date(0);
  const d = new Date(ts);
  // V8 reads nanosecond fractions itself; trimming them is the portable fallback.
  return Number.isNaN(d.getTime()) ? new Date(ts.replace(/(\.\d{3})\d+/, '$1')) : d;
}
