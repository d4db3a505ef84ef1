import { addBucketKindMethods, type BucketKindMethods } from '../buckets/internal.js';
import * as manager from './manager.js';
import type { ObjectStore } from './store.js';
import type { ObjectStoreOptions } from './types.js';

declare module '../jetstream/client.js' {
  // Adds `createObjectStore()`, `objectStore()`, `deleteObjectStore()` and `objectStoreNames()`.
  interface JetStreamClient extends BucketKindMethods<
    'ObjectStore',
    ObjectStoreOptions,
    ObjectStore
  > {}
}

addBucketKindMethods('ObjectStore', manager);
