import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { isObservable, type Observable } from 'rxjs';
import {
  connect,
  InvalidOptionError,
  MaxPayloadError,
  MsgHeaders,
  InFlight,
  settlesWithin,
  type ConnectOptions,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '../../core/internal.js';
import { NatsContext } from '../context/nats.context.js';
import {
  ERROR_CODE_HEADER,
  ERROR_HEADER,
  STREAM_END_HEADER,
  STREAM_HEADER,
  asNestEnvelope,
  decodePayload,
  encodePayload,
  errorHeaders,
  toWireError,
  unwrapRecord,
} from '../wire.js';
import { ServiceMsg, type Service, type ServiceConfig } from '../../services/internal.js';
import type { JetStreamOptions, StreamConfig } from '../../jetstream/internal.js';
import {
  JETSTREAM_HANDLER,
  type JetStreamHandlerOptions,
} from '../jetstream/jetstream-handler.decorator.js';
import { JetStreamWorker, type SettledEvent } from '../jetstream/jetstream-worker.js';
import {
  ProvisioningError,
  provisionConsumer,
  provisionStreams,
} from '../jetstream/provisioner.js';

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

/** Where a reply goes: a core message, or a Service API request (which also records stats). */
type Replyable = Pick<Msg, 'reply' | 'subject' | 'respond'>;

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

/** The error a caller gets for a reply the server would refuse as too large. */
function tooLargeError(err: unknown): Record<string, unknown> {
  const message = err instanceof Error ? err.message : String(err);
  return { statusCode: 413, message: `reply not sent: ${message}`, code: 'MAX_PAYLOAD_EXCEEDED' };
}

/** Service endpoint names allow `A-Z a-z 0-9 _ -`; a subject pattern becomes one. */
function endpointName(pattern: string): string {
  return pattern
    .replace(/\*/g, 'any')
    .replace(/>/g, 'all')
    .replace(/[^A-Za-z0-9_-]/g, '_');
}

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
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new InFlight();
  private readonly emitter = new EventEmitter();
  private readonly log = new Logger(ServerNats.name);
  private workers: JetStreamWorker[] = [];
  private readonly defaultStartHook: ServerNats['onProcessingStartHook'];
  private service: Service | undefined;
  private statusReader: AsyncIterableIterator<Status> | undefined;

  /** Throws `InvalidOptionError` when `connection` comes with connect options. */
  constructor(private readonly options: ServerNatsOptions = {}) {
    super();
    this.defaultStartHook = this.onProcessingStartHook;
    if (options.connection) refuseConnectOptions(options);
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
      this.statusReader = this.nc.status();
      void this.watchStatus(this.nc, this.statusReader, shared !== undefined);
      await this.startJetStream(this.nc);
      await this.bindHandlers(this.nc);
      // Once listen() resolves the server has our subscriptions: a request sent right after
      // must not meet 'no responders' because our SUBs were still on their way.
      await this.nc.flush();
      this._status$.next('connected');
      this.emitter.emit('connected', this.nc.connectedUrl);
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
    for (const w of this.workers) w.stop();
    this.workers = [];
    const service = this.service;
    this.service = undefined;
    const unsubscribed = Promise.allSettled([
      service?.stop(),
      ...this.subscriptions.map((s) => s.drain()),
    ]);
    this.subscriptions.length = 0;
    return unsubscribed;
  }

  on<K extends keyof NatsTransportEvents>(event: K, callback: NatsTransportEvents[K]): void {
    this.emitter.on(event, callback);
  }

  /** The underlying `NatsConnection`. Throws before `listen()`. */
  unwrap<T = NatsConnection>(): T {
    if (!this.nc)
      throw new Error(
        'ServerNats is not listening: call app.listen()/startAllMicroservices() first',
      );
    return this.nc as T;
  }

  /** Provisions declared streams and each handler's consumer, then starts pulling. */
  private async startJetStream(nc: NatsConnection): Promise<void> {
    const handlers = [...this.messageHandlers.values()].filter((h) => jetStreamOptions(h));
    const streams = this.options.streams ?? [];
    if (handlers.length === 0 && streams.length === 0) return;
    refuseSharedDurables(handlers.map((h) => jetStreamOptions(h) as JetStreamHandlerOptions));
    const jsm = await nc.jetstreamManager(this.options.jetstream);
    await provisionStreams(jsm, streams);
    const js = nc.jetstream(this.options.jetstream);
    for (const handler of handlers) {
      const opts = jetStreamOptions(handler) as JetStreamHandlerOptions;
      await provisionConsumer(jsm, opts);
      const where = `JetStream handler ${opts.stream}/${opts.durable}`;
      const worker = new JetStreamWorker(
        nc,
        js,
        handler,
        opts,
        this.inFlight,
        (e) => this.settled(e),
        {
          debug: (text) => this.log.debug(`${where}: ${text}`),
          warn: (text) => this.log.warn(`${where}: ${text}`),
          error: (err) =>
            this.log.error(`${where}: ${err instanceof Error ? err.message : String(err)}`),
        },
        () => provisionConsumer(jsm, opts),
      );
      await worker.start();
      this.workers.push(worker);
    }
  }

  /** The worker logged the outcome (see the levels in `WorkerLog`); listeners get the event. */
  private settled(e: SettledEvent): void {
    this.emitter.emit('settled', e);
  }

  private async bindHandlers(nc: NatsConnection): Promise<void> {
    const service = this.options.service ? await nc.addService(this.options.service) : undefined;
    this.service = service;
    for (const [pattern, handler] of this.messageHandlers) {
      if (jetStreamOptions(handler)) continue;
      const extras = handler.extras as { queue?: string } | undefined;
      const queue = extras?.queue ?? this.options.queue;
      if (service && !handler.isEventHandler) {
        // Request handlers become Service API endpoints: discoverable, with live stats.
        service.addEndpoint(endpointName(pattern), {
          subject: pattern,
          ...(queue ? { queueGroup: queue } : {}),
          handler: (req) => {
            const work = this.dispatch(pattern, handler, req.msg, req);
            this.inFlight.track(work);
            return work;
          },
        });
        continue;
      }
      const sub = nc.subscribe(pattern, {
        ...(queue ? { queue } : {}),
        callback: (msg) => this.onMessage(pattern, handler, msg),
      });
      this.subscriptions.push(sub);
    }
  }

  /**
   * A message on a core subscription. The common case, a plain JSON request with no
   * instrumentation hooks installed, goes straight to `runPlain()` without `dispatch()`'s
   * promise chain.
   */
  private onMessage(pattern: string, handler: MessageHandler, msg: Msg): void {
    if (handler.isEventHandler || !msg.reply || !this.defaultHooks()) {
      this.inFlight.track(this.dispatch(pattern, handler, msg));
      return;
    }
    const raw = decodePayload(msg.data);
    if (asNestEnvelope(raw, msg)) {
      this.inFlight.track(this.dispatch(pattern, handler, msg, msg, raw));
      return;
    }
    this.inFlight.begin();
    this.runPlain(handler, raw, new NatsContext(msg), msg, this.inFlight.end, (err) => {
      this.handlerFailed(pattern, err);
      this.inFlight.end();
    });
  }

  private async dispatch(
    pattern: string,
    handler: MessageHandler,
    msg: Msg,
    target: Replyable = msg,
    decoded?: unknown,
  ): Promise<void> {
    const raw = decoded === undefined ? decodePayload(msg.data) : decoded;
    const envelope = asNestEnvelope(raw, msg);
    const data = envelope ? envelope.data : raw;
    const ctx = new NatsContext(msg);
    try {
      if (handler.isEventHandler || (envelope && envelope.id === undefined)) {
        await this.runEvent(handler, data, ctx);
      } else if (envelope) {
        await this.replyNestEnvelope(handler, data, ctx, target, envelope.id as string);
      } else {
        await this.replyPlain(handler, data, ctx, target);
      }
    } catch (err) {
      this.handlerFailed(pattern, err);
    }
  }

  /** Nest's exception layer hands back objects such as `{ status, message }`, not only Errors. */
  private handlerFailed(pattern: string, err: unknown): void {
    this.log.error(`handler for ${pattern} failed: ${toWireError(err).message}`);
  }

  /**
   * Runs an event handler. Nest chains several `@EventPattern`s on one subject through
   * `handler.next` and its wrapper calls the next ones itself (joined into the returned
   * Observable), so only the first is called here. The handler is already known from the
   * subscription, so Nest's pattern lookup (a JSON parse attempt per message) is skipped.
   */
  private runEvent(handler: MessageHandler, data: unknown, ctx: NatsContext): Promise<void> {
    return this.withHooks(ctx, async () => {
      const result = await handler(data, ctx);
      if (isObservable(result)) await consume(result as Observable<unknown>, () => undefined);
    });
  }

  /** Plain replies: the value as JSON; a stream marks every reply but the last. */
  private replyPlain(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    msg: Replyable,
  ): Promise<void> {
    return this.withHooks(
      ctx,
      () =>
        new Promise<void>((resolve, reject) =>
          this.runPlain(handler, data, ctx, msg, resolve, reject),
        ),
    );
  }

  /**
   * Runs a request handler and answers with its result (one `then()`, replies sent from the
   * Observable's callbacks). `done` follows the last reply; `failed` gets a handler that threw
   * or rejected instead of answering through Nest's exception filters.
   */
  private runPlain(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    msg: Replyable,
    done: () => void,
    failed: (err: unknown) => void,
  ): void {
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(data, ctx));
    } catch (err) {
      failed(err);
      return;
    }
    result.then((value) => {
      if (isObservable(value)) {
        this.streamReplies(value as Observable<unknown>, msg, done);
      } else {
        this.sendValue(msg, value, undefined);
        done();
      }
    }, failed);
  }

  /**
   * Replies with every value of `source`: all but the last marked as "more" (the last is held
   * back until the next value or completion says whether more follow); an error becomes an
   * error reply; a stream with no value ends with an empty end marker. Calls `done` at the end.
   */
  private streamReplies(source: Observable<unknown>, msg: Replyable, done: () => void): void {
    let holding = false;
    let held: unknown;
    source.subscribe({
      next: (value) => {
        if (holding) this.sendValue(msg, held, 'more');
        holding = true;
        held = value;
      },
      error: (err: unknown) => {
        try {
          if (holding) this.sendValue(msg, held, 'more');
          this.replyError(msg, err);
        } finally {
          done();
        }
      },
      complete: () => {
        try {
          if (holding) this.sendValue(msg, held, undefined);
          else this.reply(msg, '', new MsgHeaders({ [STREAM_END_HEADER]: 'true' }));
        } finally {
          done();
        }
      },
    });
  }

  /** Sends one value; one that cannot be encoded (a cycle, a BigInt) becomes an error reply. */
  private sendValue(msg: Replyable, value: unknown, more: 'more' | undefined): void {
    try {
      this.send1(msg, value, more);
    } catch (err) {
      this.replyError(msg, err);
    }
  }

  /**
   * Answers with an error. A body that cannot be encoded (an `RpcException` object with a
   * BigInt or a cycle) or that is too large keeps only the message.
   */
  private replyError(msg: Replyable, err: unknown): void {
    const wire = toWireError(err);
    const headers = errorHeaders(wire);
    const brief = () => JSON.stringify({ message: wire.message.slice(0, 1024) });
    let body: string;
    try {
      body = JSON.stringify(wire.body);
    } catch {
      body = brief();
    }
    this.reply(msg, body, headers, () =>
      this.reply(msg, brief(), headers, (e) => this.cannotReply(msg, e)),
    );
  }

  /** Nest's envelope: `{ id, response }` per value, `{ id, err, isDisposed }` / `{ id, isDisposed }`. */
  private replyNestEnvelope(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    msg: Replyable,
    id: string,
  ): Promise<void> {
    return this.withHooks(ctx, async () => {
      const result = await handler(data, ctx);
      const stream = isObservable(result) ? (result as Observable<unknown>) : undefined;
      if (!stream) {
        const { data: value, headers } = unwrapRecord(result);
        this.replyEnvelope(msg, { id, response: value, isDisposed: true }, headers);
        return;
      }
      await consume(stream, (value) => {
        const { data: v, headers } = unwrapRecord(value);
        this.replyEnvelope(msg, { id, response: v }, headers);
      }).then(
        () => this.replyEnvelope(msg, { id, isDisposed: true }, undefined),
        (err: unknown) => this.replyEnvelope(msg, { id, err, isDisposed: true }, undefined),
      );
    });
  }

  /**
   * One packet of Nest's envelope. One that cannot be encoded or is too large is answered
   * with `{ id, err, isDisposed }` instead, so the built-in client is never left waiting.
   */
  private replyEnvelope(
    msg: Replyable,
    packet: { id: string; response?: unknown; err?: unknown; isDisposed?: boolean },
    headers: MsgHeaders | undefined,
  ): void {
    const failed = (err: unknown) => {
      const { message, body } = toWireError(err);
      let payload: string;
      try {
        payload = JSON.stringify({ id: packet.id, err: body, isDisposed: true });
      } catch {
        payload = JSON.stringify({ id: packet.id, err: { message }, isDisposed: true });
      }
      this.reply(msg, payload, undefined, (e) => this.cannotReply(msg, e));
    };
    let payload: string;
    try {
      payload = JSON.stringify(packet);
    } catch (err) {
      failed(err);
      return;
    }
    this.reply(msg, payload, headers, failed);
  }

  private send1(msg: Replyable, result: unknown, more: 'more' | undefined): void {
    const { data, headers } = unwrapRecord(result);
    // The marker goes on a copy: records of one stream may share a headers object, and the
    // last reply must not inherit the marker from the ones before it.
    const h = more ? withHeader(headers, STREAM_HEADER, more) : headers;
    this.reply(msg, encodePayload(data), h);
  }

  /**
   * Sends a reply. One larger than the server's max_payload would never arrive, so the caller
   * would only see a timeout: `tooLarge` gets the error and answers instead (by default an
   * error reply with code 413).
   */
  private reply(
    msg: Replyable,
    payload: string,
    headers: MsgHeaders | undefined,
    tooLarge: (err: unknown) => void = (err) => this.replyError(msg, tooLargeError(err)),
  ): void {
    if (!msg.reply) return;
    try {
      const code = headers?.get(ERROR_CODE_HEADER);
      if (msg instanceof ServiceMsg && code !== undefined) {
        // Through the Service API so the endpoint's stats count the error.
        void msg.respondError(Number(code), headers?.get(ERROR_HEADER) || 'error', payload);
      } else {
        void msg.respond(payload, headers ? { headers } : undefined);
      }
    } catch (err) {
      if (err instanceof MaxPayloadError) tooLarge(err);
      else this.cannotReply(msg, err);
    }
  }

  private cannotReply(msg: Replyable, err: unknown): void {
    this.log.error(
      `cannot reply on ${msg.subject}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** No instrumentation: Nest's default start hook and no end hook. */
  private defaultHooks(): boolean {
    return this.onProcessingStartHook === this.defaultStartHook && !this.onProcessingEndHook;
  }

  /** Runs `fn` between Nest's processing hooks (used by instrumentation). */
  private withHooks(ctx: NatsContext, fn: () => Promise<void>): Promise<void> {
    // Without instrumentation skip the wrapping.
    if (this.defaultHooks()) return fn();
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

  /**
   * Mirrors the connection's state in `status()` and the events. On a shared connection this
   * reader (ended by `close()`) also logs the errors, as the `onError` installed on an own
   * connection does, and reports the owner closing it under the transport.
   */
  private async watchStatus(
    nc: NatsConnection,
    reader: AsyncIterableIterator<Status>,
    shared: boolean,
  ): Promise<void> {
    let server = nc.connectedUrl;
    for await (const s of reader) {
      switch (s.type) {
        case 'error':
          if (shared) this.log.error(`${s.error.code}: ${s.error.message}`);
          break;
        case 'close':
          if (shared && this.nc === nc) {
            this.log.warn('the shared connection closed: the handlers receive no more messages');
            this._status$.next('disconnected');
            this.emitter.emit('disconnected', server);
          }
          break;
        case 'disconnect':
          this.log.warn(`disconnected from ${s.server}`);
          this._status$.next('disconnected');
          this.emitter.emit('disconnected', s.server);
          break;
        case 'reconnecting':
          this._status$.next('reconnecting');
          this.emitter.emit('reconnecting', s.attempt);
          break;
        case 'reconnect':
          server = s.server;
          this.log.log(`reconnected to ${s.server}`);
          this._status$.next('connected');
          this.emitter.emit('reconnected', s.server);
          break;
      }
    }
  }
}

/** A copy of `headers` (or new headers) with `name` set. */
function withHeader(headers: MsgHeaders | undefined, name: string, value: string): MsgHeaders {
  const copy = new MsgHeaders();
  if (headers) for (const [k, values] of headers) copy.set(k, values);
  return copy.set(name, value);
}

function jetStreamOptions(handler: MessageHandler): JetStreamHandlerOptions | undefined {
  return (handler.extras as Record<string, JetStreamHandlerOptions | undefined> | undefined)?.[
    JETSTREAM_HANDLER
  ];
}

/** Subscribes to `source`, calling `onValue` for each value; resolves on completion. */
function consume<T>(source: Observable<T>, onValue: (v: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    source.subscribe({ next: onValue, error: reject, complete: resolve });
  });
}
