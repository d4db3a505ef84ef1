import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import {
  connect,
  InvalidOperationError,
  InvalidOptionError,
  InFlight,
  settlesWithin,
  type ConnectOptions,
  type NatsConnection,
  type Status,
} from '../../core/internal.js';
import type { NatsContext } from '../context/nats.context.js';
import type { ServiceConfig } from '../../services/internal.js';
import type { JetStreamOptions, StreamConfig } from '../../jetstream/internal.js';
import {
  jetStreamOptionsOf,
  type JetStreamHandlerOptions,
} from '../jetstream/jetstream-handler.decorator.js';
import type { SettledEvent } from '../jetstream/jetstream-worker.js';
import { checkPriorityHandler } from '../jetstream/exclusive.js';
import {
  verifyPartitionTransform,
  withPartitionTransforms,
} from '../jetstream/partitions/transform.js';
import { refuseCollidingDurables } from '../jetstream/partitions/durables.js';
import {
  ProvisioningError,
  provisionConsumer,
  provisionStreams,
} from '../jetstream/provisioner.js';
import { startWorker } from '../jetstream/worker-for.js';
import { startAdvisoryDeadLetters } from '../jetstream/advisory-dead-letter.js';
import { watchStatus } from '../status-watcher.js';
import { Dispatcher } from './dispatcher.js';
import { HandlerBinding } from './handler-binding.js';
import { ReplyWriter } from './reply-writer.js';

/**
 * Options of `new ServerNats(...)`: connect options plus the transport's own, or an existing
 * `connection` plus the transport's own.
 */
export interface ServerNatsOptions extends ConnectOptions {
  /**
   * Serve on this open connection instead of opening one: `NatsModule`'s
   * (`app.get(NatsConnection)` in a hybrid app) or one from your own `connect()`. Its owner
   * keeps it: `close()` stops only this transport's subscriptions, consumers and service and
   * leaves the connection open, and the connection's `onError` and other callbacks stay as its
   * owner set them. Connect options (`servers`, `name`, ...) next to it throw
   * `InvalidOptionError`.
   */
  connection?: NatsConnection;
  /** Queue group for every handler that does not name its own (`extras.queue`). */
  queue?: string;
  /** How long `close()` waits for in-flight handlers before closing anyway. @default 10000 */
  gracefulShutdownTimeout?: number;
  /** Streams created or updated at start-up (before the JetStream handlers' consumers). */
  streams?: StreamConfig[];
  /** JetStream domain or API prefix for the handlers and provisioning. */
  jetstream?: JetStreamOptions;
  /**
   * Expose the `@MessagePattern` handlers as Service API endpoints of this service, so
   * `$SRV.PING/INFO/STATS` discovery lists them with live request/error/latency stats.
   */
  service?: ServiceConfig;
}

/** The options that are not connect options: the rest goes to `connect()`. */
function connectOptionsOf(options: ServerNatsOptions): ConnectOptions {
  const {
    connection: _c,
    queue: _q,
    gracefulShutdownTimeout: _g,
    streams: _s,
    jetstream: _j,
    service: _v,
    ...connectOptions
  } = options;
  return connectOptions;
}

/** A shared connection was opened with its own options: any set here would be ignored. */
function refuseConnectOptions(options: ServerNatsOptions): void {
  const set = Object.entries(connectOptionsOf(options))
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key);
  if (set.length > 0)
    throw new InvalidOptionError(
      `ServerNats: 'connection' cannot be combined with connect options (${set.join(', ')}): ` +
        'the shared connection was opened with its own; set them where it is opened',
    );
}

/**
 * Two handlers on one durable would overwrite each other's consumer config and split its
 * messages between them: refused at start-up.
 */
function refuseSharedDurables(handlers: JetStreamHandlerOptions[]): void {
  const seen = new Set<string>();
  for (const { stream, durable } of handlers) {
    const key = `${stream}/${durable}`;
    if (seen.has(key))
      throw new ProvisioningError(
        `two @JetStreamHandler declare the durable ${durable} on stream ${stream}: give each its own`,
      );
    seen.add(key);
  }
}

/** What a close past its budget still allows the drain, for the replies just sent. */
const MIN_DRAIN = 100;

/** What `ServerNats.status` emits as its connection comes and goes. */
export type NatsTransportStatus = 'connected' | 'disconnected' | 'reconnecting';

/** The events of `ServerNats.on()` and the arguments their callbacks get. */
export type NatsTransportEvents = {
  /** Connected for the first time, to the server at this URL. */
  connected: (server: string) => void;
  /** Lost the connection to the server at this URL. */
  disconnected: (server: string) => void;
  /** Starts reconnect attempt number `attempt` (from 1 since the loss). */
  reconnecting: (attempt: number) => void;
  /** Connected again, to the server at this URL. */
  reconnected: (server: string) => void;
  /** A `@JetStreamHandler` settled a message (ack, nak, term, dead-letter, manual). */
  settled: (event: SettledEvent) => void;
};

/**
 * A NestJS custom transport strategy on this library's NATS client: `@MessagePattern` handlers
 * answer requests with plain JSON (any NATS client can call them), `@EventPattern` handlers take
 * events. Requests in Nest's own envelope are answered in that envelope.
 */
export class ServerNats
  extends Server<NatsTransportEvents, NatsTransportStatus>
  implements CustomTransportStrategy
{
  private nc: NatsConnection | null = null;
  private readonly inFlight = new InFlight();
  private readonly emitter = new EventEmitter();
  private readonly log = new Logger(ServerNats.name);
  private workers: Array<{ stop(): void | Promise<void> }> = [];
  private readonly defaultStartHook: ServerNats['onProcessingStartHook'];
  private readonly binding: HandlerBinding;
  private statusReader: AsyncIterableIterator<Status> | undefined;

  /** Throws `InvalidOptionError` when `connection` comes with connect options. */
  constructor(private readonly options: ServerNatsOptions = {}) {
    super();
    this.defaultStartHook = this.onProcessingStartHook;
    if (options.connection) refuseConnectOptions(options);
    const replies = new ReplyWriter((subject, err) =>
      this.log.error(
        `cannot reply on ${subject}: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
    const dispatcher = new Dispatcher({
      inFlight: this.inFlight,
      replies,
      hooks: { none: () => this.defaultHooks(), around: (ctx, fn) => this.withHooks(ctx, fn) },
      failed: (pattern, message) => this.log.error(`handler for ${pattern} failed: ${message}`),
    });
    this.binding = new HandlerBinding({
      dispatcher,
      inFlight: this.inFlight,
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      ...(options.service !== undefined ? { service: options.service } : {}),
    });
  }
  /** What `console.log()` shows: the connection, never the options (they hold secrets). */
  [inspect.custom](): string {
    return `ServerNats { connection: ${this.nc ? inspect(this.nc) : 'none'} }`;
  }

  /**
   * Connects (unless given a `connection`) and subscribes every handler; `callback(err)` when
   * the connection or a subscription fails.
   */
  async listen(callback: (err?: unknown) => void): Promise<void> {
    const shared = this.options.connection;
    try {
      if (shared) {
        this.nc = shared;
      } else {
        const connectOptions = connectOptionsOf(this.options);
        this.nc = await connect({
          ...connectOptions,
          onError: (err) => {
            this.log.error(`${err.code}: ${err.message}`);
            connectOptions.onError?.(err);
          },
        });
      }
      const nc = this.nc;
      this.statusReader = nc.status();
      void watchStatus(nc, this.statusReader, {
        status: this._status$,
        events: this.emitter,
        log: this.log,
        // On a shared connection this reader (ended by close()) also logs the errors, as the
        // onError installed on an own connection does, and reports the owner closing it.
        ...(shared ? { shared: { serving: () => this.nc === nc } } : {}),
      });
      await this.startJetStream(nc);
      await this.binding.bind(nc, this.messageHandlers);
      // Once listen() resolves the server has our subscriptions: a request sent right after
      // must not meet 'no responders' because our SUBs were still on their way.
      await nc.flush();
      this._status$.next('connected');
      this.emitter.emit('connected', nc.connectedUrl);
      callback();
    } catch (err) {
      const nc = this.nc;
      this.nc = null;
      if (shared) {
        // Not ours to close: undo only what this transport started on it.
        await settlesWithin(this.stopTaking(), this.options.gracefulShutdownTimeout ?? 10_000);
        void this.statusReader?.return?.();
      } else {
        await nc?.close();
      }
      callback(err);
    }
  }

  /**
   * Stops taking messages, waits for in-flight handlers so their replies go out, then drains
   * and closes the connection; all within `gracefulShutdownTimeout`. Handlers still running
   * then are abandoned: their replies are lost and their JetStream messages, unacked, are
   * delivered again after the ack wait. A shared `connection` is left open (its owner closes
   * it): only this transport's subscriptions, consumers and service end, and handlers still
   * running past the budget can still reply and ack on it.
   */
  async close(): Promise<void> {
    const nc = this.nc;
    if (!nc) return;
    this.nc = null;
    // One budget for the whole close: a service's stop() alone would wait for its handlers up
    // to the connection's drainTimeout (30 s by default).
    const deadline = Date.now() + (this.options.gracefulShutdownTimeout ?? 10_000);
    const left = () => deadline - Date.now();
    const settled =
      (await settlesWithin(this.stopTaking(), left())) && (await this.inFlight.settle(left()));
    if (!settled) this.log.warn(`closing with ${this.inFlight.size} handler(s) still running`);
    void this.statusReader?.return?.();
    this.statusReader = undefined;
    if (nc === this.options.connection) {
      // The replies just sent are on their way once the server answers a PING.
      if (settled && !nc.isClosed) await settlesWithin(nc.flush(), Math.max(left(), MIN_DRAIN));
    } else {
      // Drain only once nothing runs (it would wait for service handlers, async callbacks): it
      // is then about one round trip, still kept within budget.
      const drained = settled && (await settlesWithin(nc.drain(), Math.max(left(), MIN_DRAIN)));
      if (!drained || !nc.isClosed) await nc.close();
    }
    this.emitter.removeAllListeners();
  }

  /** Stops the consumers, the service and the subscriptions; settles once they are gone. */
  private stopTaking(): Promise<unknown> {
    // Exclusive handlers settle once their pin is handed over.
    const stopped = this.workers.map((w) => w.stop());
    this.workers = [];
    return Promise.all([this.binding.stop(), ...stopped]);
  }

  on<K extends keyof NatsTransportEvents>(event: K, callback: NatsTransportEvents[K]): void {
    this.emitter.on(event, callback);
  }

  /** The underlying `NatsConnection`. Throws before `listen()`. */
  unwrap<T = NatsConnection>(): T {
    if (!this.nc)
      throw new InvalidOperationError(
        'ServerNats is not listening: call app.listen()/startAllMicroservices() first',
      );
    return this.nc as T;
  }

  /** Provisions declared streams and each handler's consumer, then starts pulling. */
  private async startJetStream(nc: NatsConnection): Promise<void> {
    const handlers = [...this.messageHandlers.values()].filter((h) => jetStreamOptionsOf(h));
    const streams = this.options.streams ?? [];
    if (handlers.length === 0 && streams.length === 0) return;
    const declared = handlers.map((h) => jetStreamOptionsOf(h) as JetStreamHandlerOptions);
    refuseSharedDurables(declared);
    refuseCollidingDurables(declared);
    // Exclusive, partitioned and overflow handlers: their options, and a 2.11+ server.
    for (const opts of declared) checkPriorityHandler(opts, nc);
    const jsm = await nc.jetstreamManager(this.options.jetstream);
    await provisionStreams(jsm, withPartitionTransforms(streams, declared));
    const js = nc.jetstream(this.options.jetstream);
    for (const handler of handlers) {
      const opts = jetStreamOptionsOf(handler) as JetStreamHandlerOptions;
      if (opts.partitions !== undefined) await verifyPartitionTransform(jsm, opts);
      else await provisionConsumer(jsm, opts);
      const where = `JetStream handler ${opts.stream}/${opts.durable}`;
      const deadLetters = await startAdvisoryDeadLetters({
        ...{ nc, js, jsm, options: opts, inFlight: this.inFlight, logger: this.log, where },
        settled: (e) => this.settled(e),
      });
      if (deadLetters) this.workers.push(deadLetters);
      const worker = startWorker(jsm, {
        nc,
        js,
        handler,
        options: opts,
        inFlight: this.inFlight,
        onSettled: (e) => this.settled(e),
        log: {
          debug: (text) => this.log.debug(`${where}: ${text}`),
          warn: (text) => this.log.warn(`${where}: ${text}`),
          error: (err) =>
            this.log.error(`${where}: ${err instanceof Error ? err.message : String(err)}`),
        },
        reprovision: () => provisionConsumer(jsm, opts),
      });
      await worker.start();
      this.workers.push(worker);
    }
  }

  /** The worker logged the outcome (see the levels in `WorkerLog`); listeners get the event. */
  private settled(e: SettledEvent): void {
    this.emitter.emit('settled', e);
  }

  /** No instrumentation: Nest's default start hook and no end hook. */
  private defaultHooks(): boolean {
    return this.onProcessingStartHook === this.defaultStartHook && !this.onProcessingEndHook;
  }

  /** Runs `fn` between Nest's processing hooks (used by instrumentation). */
  private withHooks(ctx: NatsContext, fn: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      void this.onProcessingStartHook(
        this.transportId ?? Symbol.for('nestjs-nats'),
        ctx,
        async () => {
          try {
            await fn();
            resolve();
          } catch (err) {
            reject(err);
          } finally {
            this.onProcessingEndHook?.(this.transportId ?? Symbol.for('nestjs-nats'), ctx);
          }
        },
      );
    });
  }
}
