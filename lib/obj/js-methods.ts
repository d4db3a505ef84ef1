import { addBucketKindMethods, type BucketKindMethods } from '../buckets/internal.js';
import {
  createObjectStore,
  deleteObjectStore,
  objectStoreNames,
  openObjectStore,
} from './manager.js';
import type { ObjectStore } from './store.js';
import type { ObjectStoreOptions } from './types.js';

declare module '../jetstream/client.js' {
  /** `createObjectStore()`, `objectStore()`, `deleteObjectStore()` and `objectStoreNames()`. */
  interface JetStreamClient extends BucketKindMethods<
    'ObjectStore',
    ObjectStoreOptions,
    ObjectStore
  > {}
}

addBucketKindMethods('ObjectStore', {
  create: createObjectStore,
  open: openObjectStore,
  delete: deleteObjectStore,
  names: objectStoreNames,
});
