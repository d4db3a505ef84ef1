import './js-methods.js';
export { ObjectStore } from './store.js';
export type { ObjectWatcher } from './store.js';
export {
  createObjectStore,
  openObjectStore,
  deleteObjectStore,
  objectStoreNames,
} from './manager.js';
export { objStreamConfig, objStatus } from './config.js';
export { encodeName, formatDigest, parseDigest, DEFAULT_CHUNK_SIZE } from './info.js';
export type { ObjectInfoWire } from './info.js';
export {
  ObjectNotFoundError,
  DigestMismatchError,
  StoreSealedError,
  ObjectExistsError,
  InvalidLinkError,
  InvalidObjectNameError,
} from './errors.js';
export type * from './types.js';
