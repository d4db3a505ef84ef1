import './connection-methods.js';
export { addService, Service } from './service.js';
export { ServiceGroup } from './group.js';
export { ServiceEndpoint } from './endpoint.js';
export { ServiceMsg, type RespondOptions } from './service-msg.js';
export { ServiceClient, type ServiceClientOptions } from './client.js';
export { ServiceResponseType } from './types.js';
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
