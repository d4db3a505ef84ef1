import { addBucketKindMethods } from '../buckets/internal.js';
import type { KvBucket } from './bucket.js';
import { createKeyValue, deleteKeyValue, keyValueNames, openKeyValue } from './manager.js';
import type { KvOptions } from './types.js';

declare module '../jetstream/client.js' {
  interface JetStreamClient {
    /**
     * Creates a Key-Value bucket (the stream `KV_<bucket>`), or updates an existing one to
     * `opts`, and resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`; options
     * the server is too old for (`limitMarkerTtl` below 2.11, compression below 2.10) throw
     * `FeatureNotSupportedError` before anything is sent.
     */
    createKeyValue(opts: KvOptions): Promise<KvBucket>;
    /** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
    keyValue(bucket: string): Promise<KvBucket>;
    /** Deletes a bucket with its keys and history; resolves true. Rejects with `BucketNotFoundError`. */
    deleteKeyValue(bucket: string): Promise<boolean>;
    /** The names of the account's KV buckets. */
    keyValueNames(): AsyncIterable<string>;
  }
}

addBucketKindMethods('KeyValue', {
  create: createKeyValue,
  open: openKeyValue,
  delete: deleteKeyValue,
  names: keyValueNames,
});
