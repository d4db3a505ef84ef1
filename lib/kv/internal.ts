// Pieces of the KV layer that the object store reuses; not part of the public API.
export { s2Compression, serverAtLeast, type StreamConfigExt } from './config.js';
export { bucketNames, bucketStreamInfo, deleteBucketStream, putBucketStream } from './manager.js';
export { bucketNotFound, explainUnanswered, unlessBucketGone } from './errors.js';
export { parseTime } from './entry.js';
export { validateBucketName } from './validate.js';
export { Watcher } from './watcher.js';
