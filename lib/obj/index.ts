import './js-methods.js';
export { ObjectStore, type ObjectWatcher } from './store.js';
export type { Watcher } from '../buckets/internal.js';
export {
  ObjectNotFoundError,
  DigestMismatchError,
  StoreSealedError,
  ObjectExistsError,
  InvalidLinkError,
  InvalidObjectNameError,
} from './errors.js';
export { BucketNotFoundError, InvalidBucketNameError } from '../buckets/internal.js';
export type * from './types.js';
