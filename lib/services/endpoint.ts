import {
  InvalidOperationError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '../core/internal.js';
import { ServiceMsg } from './service-msg.js';
import type { EndpointInfo, EndpointStats, ServiceEndpointApi, ServiceHandler } from './types.js';

/** @internal What an endpoint needs from its service. */
export interface EndpointHost {
  readonly nc: NatsConnection;
  /** Called when the endpoint's subscription ends, for whatever reason. */
  endpointClosed(endpoint: ServiceEndpoint, err: Error | undefined): void;
}

/** The resolved definition of an endpoint: full subject, effective queue group. */
export interface EndpointDefinition {
  name: string;
  subject: string;
  queueGroup: string | undefined;
  metadata: Readonly<Record<string, string>> | undefined;
  handler: ServiceHandler | undefined;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** The text of whatever was thrown (`fallback` when empty); never throws itself. */
export function errorText(err: unknown, fallback = 'handler failed'): string {
  let text: string;
  try {
    text = err instanceof Error ? err.message : String(err);
  } catch {
    // An object String() cannot convert (no prototype, a throwing toString).
    text = Object.prototype.toString.call(err);
  }
  return text.length > 0 ? text : fallback;
}

/**
 * One endpoint of a service: a (queue) subscription whose requests go to the handler, or to
 * whoever iterates the endpoint, with the per-endpoint statistics of the STATS response.
 */
// Also the RequestRecorder of its requests (structurally, so the .d.ts does not name it).
export class ServiceEndpoint implements ServiceEndpointApi {
  /** The endpoint's name. */
  readonly name: string;
  /** The full subject, group prefixes included. */
  readonly subject: string;
  /** The queue group in use, or undefined when disabled. */
  readonly queueGroup: string | undefined;
  /** The endpoint's metadata, frozen, or undefined when it has none. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  private readonly handler: ServiceHandler | undefined;
  private readonly sub: Subscription;
  private numRequests = 0;
  private numErrors = 0;
  private lastError = '';
  private processingNs = 0;
  // Bumped by reset(), so requests received before it do not count after it.
  private generation = 0;
  private iterated = false;

  /** @internal Subscribes at once; throws what `nc.subscribe()` throws. */
  constructor(host: EndpointHost, def: EndpointDefinition) {
    this.name = def.name;
    this.subject = def.subject;
    this.queueGroup = def.queueGroup;
    this.metadata = def.metadata;
    this.handler = def.handler;
    const handler = def.handler;
    this.sub = host.nc.subscribe(def.subject, {
      queue: def.queueGroup,
      // dispatch() returns an async handler's work, so draining the subscription waits for it.
      callback: handler === undefined ? undefined : (msg) => this.dispatch(handler, msg),
    });
    void this.sub.closed.then((err) => host.endpointClosed(this, err));
  }

  /** The endpoint as described in INFO responses. */
  info(): EndpointInfo {
    const out: EndpointInfo = { name: this.name, subject: this.subject };
    if (this.queueGroup !== undefined) out.queueGroup = this.queueGroup;
    if (this.metadata !== undefined) out.metadata = { ...this.metadata };
    return out;
  }

  /** The endpoint's counters; `data` comes from the service's `statsHandler`. */
  stats(data?: unknown): EndpointStats {
    const out: EndpointStats = {
      name: this.name,
      subject: this.subject,
      ...(this.queueGroup === undefined ? {} : { queueGroup: this.queueGroup }),
      numRequests: this.numRequests,
      numErrors: this.numErrors,
      lastError: this.lastError,
      processingTime: this.processingNs / 1e6,
      averageProcessingTime:
        this.numRequests === 0 ? 0 : this.processingNs / this.numRequests / 1e6,
    };
    if (data !== undefined) out.data = data;
    return out;
  }

  /** Zeroes the counters. */
  reset(): void {
    this.generation++;
    this.numRequests = 0;
    this.numErrors = 0;
    this.lastError = '';
    this.processingNs = 0;
  }

  /** @internal Stops taking requests; requests already received are still handled. */
  stop(): Promise<void> {
    return this.sub.drain();
  }

  /** @internal Resolves true once no async handler runs, false after `timeout` ms. */
  settle(timeout: number): Promise<boolean> {
    return this.sub.settle(timeout);
  }

  /** @internal */
  error(text: string, generation: number): void {
    if (generation !== this.generation) return;
    this.numErrors++;
    this.lastError = text;
  }

  /** @internal */
  done(elapsedNs: number, generation: number): void {
    if (generation !== this.generation) return;
    this.processingNs += elapsedNs;
  }

  /**
   * The requests of an endpoint added without a handler. A request's processing time runs from
   * the moment it is yielded until it is answered or the next one is asked for. Throws
   * `InvalidOperationError` on an endpoint with a handler, or when iterated twice.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ServiceMsg> {
    if (this.handler !== undefined) {
      throw new InvalidOperationError(`endpoint ${this.name} has a handler and cannot be iterated`);
    }
    if (this.iterated) {
      throw new InvalidOperationError(`endpoint ${this.name} is already being iterated`);
    }
    this.iterated = true;
    for await (const msg of this.sub) {
      const req = this.receive(msg);
      try {
        yield req;
      } finally {
        req.finish();
      }
    }
  }

  private receive(msg: Msg): ServiceMsg {
    this.numRequests++;
    return new ServiceMsg(msg, this, this.generation);
  }

  // Never throws or rejects: a failing handler is answered with a 500 and counted, not
  // reported as a subscription callback error. Returns the work of an async handler.
  private dispatch(handler: ServiceHandler, msg: Msg): Promise<void> | undefined {
    const req = this.receive(msg);
    let result: unknown;
    try {
      result = handler(req);
    } catch (err) {
      this.failed(req, err);
      return undefined;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => req.finish(),
        (err: unknown) => this.failed(req, err),
      );
    } else if (!msg.reply) {
      // Nothing can be answered: the synchronous part is all there is to measure.
      req.finish();
    }
    // Otherwise the handler answers later (a timer, a callback): finish() runs on respond().
  }

  private failed(req: ServiceMsg, err: unknown): void {
    const text = errorText(err);
    let answered = false;
    if (!req.isAnswered && req.reply) {
      try {
        req.respondError(500, text);
        answered = true;
      } catch {
        // The connection may be closing; the error is still counted below.
      }
    }
    if (!answered) req.countError(`500:${text}`);
    req.finish();
  }
}
