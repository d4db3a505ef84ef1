import { JetStreamClient } from '../jetstream/internal.js';
import {
  createObjectStore,
  deleteObjectStore,
  objectStoreNames,
  openObjectStore,
} from './manager.js';
import type { ObjectStore } from './store.js';
import type { ObjectStoreOptions } from './types.js';

declare module '../jetstream/client.js' {
  interface JetStreamClient {
    /**
     * Creates an object store (or updates an existing one to `opts`) and resolves it. Throws
     * `InvalidBucketNameError` or `InvalidOptionError`.
     */
    createObjectStore(opts: ObjectStoreOptions): Promise<ObjectStore>;
    /** Binds to an existing object store. Rejects with `BucketNotFoundError`. */
    objectStore(bucket: string): Promise<ObjectStore>;
    /** Deletes an object store with its objects; resolves true. Rejects with `BucketNotFoundError`. */
    deleteObjectStore(bucket: string): Promise<boolean>;
    /** The names of the account's object stores. */
    objectStoreNames(): AsyncIterable<string>;
  }
}

// The JetStream layer knows nothing of object stores (dependency direction), so loading this
// layer adds these methods to every JetStream client.
JetStreamClient.prototype.createObjectStore = function (
  this: JetStreamClient,
  opts: ObjectStoreOptions,
) {
  return createObjectStore(this, opts);
};
JetStreamClient.prototype.objectStore = function (this: JetStreamClient, bucket: string) {
  return openObjectStore(this, bucket);
};
JetStreamClient.prototype.deleteObjectStore = function (this: JetStreamClient, bucket: string) {
  return deleteObjectStore(this, bucket);
};
JetStreamClient.prototype.objectStoreNames = function (this: JetStreamClient) {
  return objectStoreNames(this);
};
