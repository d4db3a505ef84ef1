import './js-methods.js';
export { KvBucket } from './bucket.js';
export type { KvWatcher } from './bucket.js';
export { Watcher } from './watcher.js';
export type { WatchSpec } from './watcher.js';
export { createKeyValue, openKeyValue, deleteKeyValue, keyValueNames } from './manager.js';
export { kvStreamConfig, kvStatus } from './config.js';
export {
  InvalidKeyError,
  InvalidBucketNameError,
  BucketNotFoundError,
  KeyExistsError,
  WrongLastRevisionError,
} from './errors.js';
export { validateKey, validateFilter, validateBucketName } from './validate.js';
export type * from './types.js';
