// What the nest layer shares with the KV layer: the public names, and the helpers that are not
// part of the public API.
export * from './index.js';
export { createKeyValue, openKeyValue, deleteKeyValue, keyValueNames } from './manager.js';
export { kvStreamConfig, kvStatus } from './config.js';
export { validateKey, validateFilter } from './validate.js';
