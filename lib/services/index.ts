import './connection-methods.js';
export { addService, Service } from './service.js';
export { ServiceGroup } from './group.js';
export { ServiceEndpoint } from './endpoint.js';
export { ServiceMsg } from './service-msg.js';
export type { RespondOptions } from './service-msg.js';
export { ServiceClient } from './client.js';
export type { ServiceClientOptions } from './client.js';
export {
  DEFAULT_SERVICE_PREFIX,
  DEFAULT_SERVICE_QUEUE_GROUP,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  ServiceResponseType,
} from './types.js';
export type {
  EndpointInfo,
  EndpointOptions,
  EndpointStats,
  GroupOptions,
  QueueGroupSetting,
  ServiceConfig,
  ServiceEndpointApi,
  ServiceGroupApi,
  ServiceHandler,
  ServiceIdentity,
  ServiceInfo,
  ServicePing,
  ServiceStats,
  ServiceVerb,
} from './types.js';
export {
  infoFromWire,
  infoToWire,
  pingFromWire,
  pingToWire,
  statsFromWire,
  statsToWire,
} from './wire.js';
export type {
  WireEndpointInfo,
  WireEndpointStats,
  WireIdentity,
  WireInfo,
  WireStats,
} from './wire.js';
