import { JetStreamClient } from '../jetstream/internal.js';
import type { KvBucket } from './bucket.js';
import { createKeyValue, deleteKeyValue, keyValueNames, openKeyValue } from './manager.js';
import type { KvOptions } from './types.js';

declare module '../jetstream/client.js' {
  interface JetStreamClient {
    /**
     * Creates a Key-Value bucket (or updates an existing one to `opts`) and resolves it. Throws
     * `InvalidBucketNameError` or `InvalidOptionError`.
     */
    createKeyValue(opts: KvOptions): Promise<KvBucket>;
    /** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
    keyValue(bucket: string): Promise<KvBucket>;
    /** Deletes a bucket with its keys; resolves true. Rejects with `BucketNotFoundError`. */
    deleteKeyValue(bucket: string): Promise<boolean>;
    /** The names of the account's KV buckets. */
    keyValueNames(): AsyncIterable<string>;
  }
}

// The JetStream layer knows nothing of KV (dependency direction), so loading the KV layer adds
// these methods to every JetStream client.
JetStreamClient.prototype.createKeyValue = function (this: JetStreamClient, opts: KvOptions) {
  return createKeyValue(this, opts);
};
JetStreamClient.prototype.keyValue = function (this: JetStreamClient, bucket: string) {
  return openKeyValue(this, bucket);
};
JetStreamClient.prototype.deleteKeyValue = function (this: JetStreamClient, bucket: string) {
  return deleteKeyValue(this, bucket);
};
JetStreamClient.prototype.keyValueNames = function (this: JetStreamClient) {
  return keyValueNames(this);
};
