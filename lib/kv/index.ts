import './js-methods.js';
export { KvBucket, type KvWatcher } from './bucket.js';
export type { Watcher } from '../buckets/internal.js';
export { InvalidKeyError, KeyExistsError, WrongLastRevisionError } from './errors.js';
export { BucketNotFoundError, InvalidBucketNameError } from '../buckets/internal.js';
export type * from './types.js';
