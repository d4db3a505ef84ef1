import { addBucketKindMethods, type BucketKindMethods } from '../buckets/internal.js';
import type { KvBucket } from './bucket.js';
import { createKeyValue, deleteKeyValue, keyValueNames, openKeyValue } from './manager.js';
import type { KvOptions } from './types.js';

declare module '../jetstream/client.js' {
  /** `createKeyValue()`, `keyValue()`, `deleteKeyValue()` and `keyValueNames()`. */
  interface JetStreamClient extends BucketKindMethods<'KeyValue', KvOptions, KvBucket> {}
}

addBucketKindMethods('KeyValue', {
  create: createKeyValue,
  open: openKeyValue,
  delete: deleteKeyValue,
  names: keyValueNames,
});
