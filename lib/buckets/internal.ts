// The bucket layer: what KV and the object store share (a bucket's stream, its errors, the
// watcher over an ordered consumer). It has no entry point of its own: kv and obj re-export its
// public names (the errors, `Placement`).
export { BucketNotFoundError, InvalidBucketNameError } from './errors.js';
export { bucketNotFound, explainUnanswered, unlessBucketGone } from './errors.js';
export {
  BucketStreams,
  parseTime,
  putBucketStream,
  s2Compression,
  validateBucketName,
  type StreamConfigExt,
} from './stream.js';
export type { Placement } from './types.js';
export { Watcher, initialValuesOf, type WatchSpec } from './watcher.js';
export {
  addBucketKindMethods,
  type BucketKindFunctions,
  type BucketKindMethods,
} from './js-methods.js';
