import { NatsConnection } from '../core/internal.js';
import { ServiceClient } from './client.js';
import { addService, type Service } from './service.js';
import type { ServiceConfig } from './types.js';

declare module '../core/connection.js' {
  interface NatsConnection {
    /**
     * Starts a Service API service on this connection and resolves it once its monitoring
     * subjects are subscribed. Rejects with `InvalidOptionError` for an invalid config.
     */
    addService(config: ServiceConfig): Promise<Service>;
    /** The discovery client: `ping/info/stats(name?, id?)` over `$SRV` (default options). */
    readonly services: ServiceClient;
  }
}

// The core cannot import the services layer (dependency direction), so this layer adds
// `nc.addService()` and `nc.services` when it is loaded. One discovery client per connection.
const clients = new WeakMap<NatsConnection, ServiceClient>();

NatsConnection.prototype.addService = function (this: NatsConnection, config: ServiceConfig) {
  return addService(this, config);
};

Object.defineProperty(NatsConnection.prototype, 'services', {
  configurable: true,
  enumerable: false,
  get(this: NatsConnection): ServiceClient {
    let client = clients.get(this);
    if (client === undefined) {
      client = new ServiceClient(this);
      clients.set(this, client);
    }
    return client;
  },
});
