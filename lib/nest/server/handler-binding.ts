import type { MessageHandler } from '@nestjs/microservices';
import {
  telemetryOf,
  type InFlight,
  type NatsConnection,
  type Subscription,
} from '../../core/internal.js';
import type { Service, ServiceConfig } from '../../services/internal.js';
import { jetStreamOptionsOf } from '../jetstream/jetstream-handler.decorator.js';
import type { Dispatcher } from './dispatcher.js';

/** What a `HandlerBinding` binds with. */
export interface HandlerBindingOptions {
  /** Runs the handlers. */
  dispatcher: Dispatcher;
  /** Service API requests are tracked here, so `close()` can wait for them. */
  inFlight: InFlight;
  /** Queue group for every handler that does not name its own (`extras.queue`). */
  queue?: string;
  /** When set, the request handlers become endpoints of this service. */
  service?: ServiceConfig;
}

/** Service endpoint names allow `A-Z a-z 0-9 _ -`; a subject pattern becomes one. */
export function endpointName(pattern: string): string {
  return pattern
    .replace(/\*/g, 'any')
    .replace(/>/g, 'all')
    .replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The core side of the handlers (every one but the `@JetStreamHandler`s): a subscription each,
 * or, with a `service` configured, a Service API endpoint each for the request handlers.
 */
export class HandlerBinding {
  private service: Service | undefined;
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly opts: HandlerBindingOptions) {}

  /**
   * Adds the service (if configured) and binds each handler. What was bound before a failure
   * stays bound until `stop()`.
   */
  async bind(nc: NatsConnection, handlers: Iterable<[string, MessageHandler]>): Promise<void> {
    const { dispatcher, inFlight } = this.opts;
    const telemetry = telemetryOf(nc);
    const service = this.opts.service ? await nc.addService(this.opts.service) : undefined;
    this.service = service;
    for (const [pattern, handler] of handlers) {
      if (jetStreamOptionsOf(handler)) continue;
      const extras = handler.extras as { queue?: string } | undefined;
      const queue = extras?.queue ?? this.opts.queue;
      if (service && !handler.isEventHandler) {
        // Request handlers become Service API endpoints: discoverable, with live stats.
        service.addEndpoint(endpointName(pattern), {
          subject: pattern,
          ...(queue ? { queueGroup: queue } : {}),
          handler: (req) => {
            const work = dispatcher.dispatch(pattern, handler, req.msg, req);
            inFlight.track(work);
            return work;
          },
        });
        continue;
      }
      const sub = nc.subscribe(pattern, {
        ...(queue ? { queue } : {}),
        callback: (msg) => dispatcher.onMessage(pattern, handler, msg, telemetry),
      });
      this.subscriptions.push(sub);
    }
  }

  /** Stops the service and drains the subscriptions; settles once they are gone. */
  stop(): Promise<unknown> {
    const service = this.service;
    this.service = undefined;
    const stopped = Promise.allSettled([
      service?.stop(),
      ...this.subscriptions.map((s) => s.drain()),
    ]);
    this.subscriptions.length = 0;
    return stopped;
  }
}
