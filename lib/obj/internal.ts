// The object store's public names, and the helpers that are not part of the public API (for
// the layers above and the tests).
export * from './index.js';
export {
  createObjectStore,
  openObjectStore,
  deleteObjectStore,
  objectStoreNames,
} from './manager.js';
export { objStreamConfig, objStatus } from './config.js';
export { encodeName, formatDigest, parseDigest, DEFAULT_CHUNK_SIZE } from './info.js';
export type { ObjectInfoWire } from './info.js';
