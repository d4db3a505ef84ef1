import { addBucketKindMethods, type BucketKindMethods } from '../buckets/internal.js';
import type { KvBucket } from './bucket.js';
import * as manager from './manager.js';
import type { KvOptions } from './types.js';

declare module '../jetstream/client.js' {
  // Adds `createKeyValue()`, `keyValue()`, `deleteKeyValue()` and `keyValueNames()`.
  interface JetStreamClient extends BucketKindMethods<'KeyValue', KvOptions, KvBucket> {}
}

addBucketKindMethods('KeyValue', manager);
