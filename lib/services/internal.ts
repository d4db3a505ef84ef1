// What the nest layer shares with the services layer: the public names, and the helpers that
// are not part of the public API.
export * from './index.js';
export {
  DEFAULT_SERVICE_PREFIX,
  DEFAULT_SERVICE_QUEUE_GROUP,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
} from './types.js';
export {
  infoFromWire,
  infoToWire,
  pingFromWire,
  pingToWire,
  statsFromWire,
  statsToWire,
  type WireEndpointInfo,
  type WireEndpointStats,
  type WireIdentity,
  type WireInfo,
  type WireStats,
} from './wire.js';
