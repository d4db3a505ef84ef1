export * from './core/index.js';
export * from './jetstream/index.js';
export * from './kv/index.js';
export * from './obj/index.js';
export * from './services/index.js';
export * from './nest/index.js';
