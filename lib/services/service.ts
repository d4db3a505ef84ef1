import {
  InvalidOperationError,
  internalsOf,
  nuid,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '../core/internal.js';
import { ServiceEndpoint, errorText, type EndpointDefinition } from './endpoint.js';
import { ServiceGroup } from './group.js';
import {
  DEFAULT_SERVICE_PREFIX,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  ServiceResponseType,
  type EndpointOptions,
  type GroupOptions,
  type QueueGroupSetting,
  type ServiceConfig,
  type ServiceGroupApi,
  type ServiceHandler,
  type ServiceIdentity,
  type ServiceInfo,
  type ServicePing,
  type ServiceStats,
  type ServiceVerb,
} from './types.js';
import { normalizeServiceConfig, type NormalizedServiceConfig } from './validate.js';
import { infoToWire, pingToWire, statsToWire } from './wire.js';

type ServiceState = 'running' | 'stopping' | 'stopped';

const VERBS: readonly ServiceVerb[] = ['PING', 'INFO', 'STATS'];

/**
 * A running service instance: its endpoints (directly or in groups) and the nine `$SRV`
 * monitoring subscriptions that answer PING, INFO and STATS. Created by `nc.addService()`.
 */
// Also the EndpointHost and GroupHost of its endpoints and groups (structurally: the published
// .d.ts carries neither those internal interfaces nor the members that implement them).
export class Service implements ServiceGroupApi {
  /** The instance id, a NUID generated at start. */
  readonly id = nuid.next();
  /** Resolves once the service has stopped: with the error that stopped it, if any. */
  readonly stopped: Promise<Error | undefined>;
  private readonly config: NormalizedServiceConfig;
  private readonly root: ServiceGroup;
  private readonly endpoints: ServiceEndpoint[] = [];
  private readonly monitors: Subscription[] = [];
  private state: ServiceState = 'running';
  private startedAt = new Date();
  private stopping: Promise<void> | undefined;
  private resolveStopped!: (err: Error | undefined) => void;

  private constructor(
    /** The connection the service runs on. */
    readonly nc: NatsConnection,
    config: ServiceConfig,
  ) {
    this.config = normalizeServiceConfig(config);
    this.root = new ServiceGroup(this, '', this.config.queueGroup);
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /**
   * Validates the config, subscribes the monitoring subjects and resolves once the server has
   * them. Rejects with `InvalidOptionError` for a bad config, or what `subscribe()`/`flush()`
   * reject with (a closed or draining connection, a permission violation).
   */
  static async start(nc: NatsConnection, config: ServiceConfig): Promise<Service> {
    const service = new Service(nc, config);
    try {
      service.subscribeMonitors();
      await nc.flush();
    } catch (err) {
      await service.stop(err as Error);
      throw err;
    }
    if (service.state !== 'running') {
      throw (await service.stopped) ?? new InvalidOperationError('service stopped while starting');
    }
    void nc.closed().then((err) => service.stop(err));
    return service;
  }

  /** The service's name. */
  get name(): string {
    return this.config.name;
  }
  /** The service's version. */
  get version(): string {
    return this.config.version;
  }
  /** True once the service has stopped, or is stopping. */
  get isStopped(): boolean {
    return this.state !== 'running';
  }

  /** Adds an endpoint at the root of the service. See `ServiceGroup.addEndpoint()`. */
  addEndpoint(name: string, opts?: EndpointOptions | ServiceHandler): ServiceEndpoint {
    return this.root.addEndpoint(name, opts);
  }

  /** A group of endpoints under `prefix`. See `ServiceGroup.addGroup()`. */
  addGroup(prefix: string, opts?: GroupOptions | QueueGroupSetting): ServiceGroup {
    return this.root.addGroup(prefix, opts);
  }

  /** The PING response of this instance. */
  ping(): ServicePing {
    return { ...this.identity(), type: ServiceResponseType.PING };
  }

  /** The INFO response of this instance. */
  info(): ServiceInfo {
    return {
      ...this.identity(),
      type: ServiceResponseType.INFO,
      description: this.config.description,
      endpoints: this.endpoints.map((e) => e.info()),
    };
  }

  /** The STATS response of this instance. Rejects when the `statsHandler` throws. */
  async stats(): Promise<ServiceStats> {
    const handler = this.config.statsHandler;
    const endpoints = await Promise.all(
      this.endpoints.map(async (e) => e.stats(handler ? await handler(e.info()) : undefined)),
    );
    return {
      ...this.identity(),
      type: ServiceResponseType.STATS,
      started: new Date(this.startedAt),
      endpoints,
    };
  }

  /** Zeroes every endpoint's statistics and sets `started` to now. */
  reset(): void {
    this.startedAt = new Date();
    for (const e of this.endpoints) e.reset();
  }

  /**
   * Drains every endpoint and monitoring subscription, waits for the handlers still running
   * to settle (up to the connection's `drainTimeout`), then resolves `stopped` with `err`, so
   * `await svc.stop()` before closing the connection loses no reply. Called from a handler's
   * synchronous part it does not wait for handlers (the caller would wait for itself); awaited
   * inside a handler after an `await`, it waits for that handler until the timeout: use
   * `void svc.stop()` there. The connection stays open.
   */
  stop(err?: Error): Promise<void> {
    if (this.stopping) return this.stopping;
    this.state = 'stopping';
    const waitHandlers = !internalsOf(this.nc).isDispatching;
    const subs = [...this.endpoints.map((e) => e.stop()), ...this.monitors.map((s) => s.drain())];
    this.stopping = Promise.allSettled(subs)
      .then(() => (waitHandlers ? this.handlersDone() : undefined))
      .then(() => {
        this.state = 'stopped';
        this.resolveStopped(err);
      });
    return this.stopping;
  }

  /** Resolves when no handler runs any more, or after the connection's drain budget. */
  private async handlersDone(): Promise<void> {
    // A closed connection takes no more replies: nothing to wait for.
    if (this.nc.isClosed) return;
    await Promise.all(this.endpoints.map((e) => e.settle(internalsOf(this.nc).drainTimeout)));
  }

  /** @internal */
  createEndpoint(def: EndpointDefinition): ServiceEndpoint {
    if (this.state !== 'running') {
      throw new InvalidOperationError(`service ${this.name} is stopped`);
    }
    const endpoint = new ServiceEndpoint(this, def);
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** @internal A subscription ended: unless we are stopping, the service cannot go on. */
  endpointClosed(_endpoint: ServiceEndpoint | undefined, err: Error | undefined): void {
    if (this.state === 'running') void this.stop(err);
  }

  private identity(): Omit<ServiceIdentity, 'type'> {
    const { name, version, metadata } = this.config;
    return { name, id: this.id, version, metadata: { ...metadata } };
  }

  private subscribeMonitors(): void {
    for (const verb of VERBS) {
      const base = `${DEFAULT_SERVICE_PREFIX}.${verb}`;
      for (const subject of [base, `${base}.${this.name}`, `${base}.${this.name}.${this.id}`]) {
        const sub = this.nc.subscribe(subject, { callback: (msg) => this.answer(verb, msg) });
        void sub.closed.then((err) => this.endpointClosed(undefined, err));
        this.monitors.push(sub);
      }
    }
  }

  // Monitoring requests have an empty body; one without a reply subject cannot be answered.
  private answer(verb: ServiceVerb, msg: Msg): void {
    if (!msg.reply) return;
    const failed = (err: unknown): void => {
      const headers = {
        [ServiceErrorHeader]: errorText(err, 'stats failed').replace(/[\r\n]+/g, ' '),
        [ServiceErrorCodeHeader]: '500',
      };
      try {
        msg.respond(undefined, { headers });
      } catch {
        // The connection is closing: nobody is left to answer.
      }
    };
    const send = (body: unknown): void => {
      let json: string;
      try {
        // A statsHandler may return data JSON cannot encode (a BigInt, a cycle).
        json = JSON.stringify(body);
      } catch (err) {
        return failed(err);
      }
      try {
        msg.respond(json);
      } catch {
        // The connection is closing: nobody is left to answer.
      }
    };
    if (verb === 'PING') send(pingToWire(this.ping()));
    else if (verb === 'INFO') send(infoToWire(this.info()));
    else this.stats().then((stats) => send(statsToWire(stats)), failed);
  }
}

/**
 * Starts a service on `nc` and resolves it once its monitoring subjects are subscribed. Rejects
 * with `InvalidOptionError` for an invalid name, version, metadata or queue group.
 */
export function addService(nc: NatsConnection, config: ServiceConfig): Promise<Service> {
  return Service.start(nc, config);
}
