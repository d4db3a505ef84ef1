import { NatsConnection } from '../core/internal.js';
import type { JetStreamOptions } from './api.js';
import { jetstream, type JetStreamClient } from './client.js';
import { jetstreamManager, type JetStreamManager } from './manager/manager.js';

declare module '../core/connection.js' {
  interface NatsConnection {
    /** A JetStream client on this connection (no round trip). */
    jetstream(opts?: JetStreamOptions): JetStreamClient;
    /** A JetStream manager; rejects with `JetStreamNotAvailableError` when JetStream is off. */
    jetstreamManager(opts?: JetStreamOptions): Promise<JetStreamManager>;
  }
}

// The core cannot import JetStream (dependency direction), so the JetStream layer adds the
// `nc.jetstream()` / `nc.jetstreamManager()` methods of the public API when it is loaded.
NatsConnection.prototype.jetstream = function (this: NatsConnection, opts?: JetStreamOptions) {
  return jetstream(this, opts);
};
NatsConnection.prototype.jetstreamManager = function (
  this: NatsConnection,
  opts?: JetStreamOptions,
) {
  return jetstreamManager(this, opts);
};
