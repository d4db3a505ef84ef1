import { addBucketKindMethods } from '../buckets/internal.js';
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
     * Creates an object store (the stream `OBJ_<bucket>`; objects are kept in chunks), or updates
     * an existing one to `opts`, and resolves it. Throws `InvalidBucketNameError` or
     * `InvalidOptionError`.
     */
    createObjectStore(opts: ObjectStoreOptions): Promise<ObjectStore>;
    /** Binds to an existing object store. Rejects with `BucketNotFoundError`. */
    objectStore(bucket: string): Promise<ObjectStore>;
    /**
     * Deletes an object store with its objects, links and metadata; resolves true. Rejects with
     * `BucketNotFoundError`.
     */
    deleteObjectStore(bucket: string): Promise<boolean>;
    /** The names of the account's object stores. */
    objectStoreNames(): AsyncIterable<string>;
  }
}

addBucketKindMethods('ObjectStore', {
  create: createObjectStore,
  open: openObjectStore,
  delete: deleteObjectStore,
  names: objectStoreNames,
});
