import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import {
  ClientProxy,
  type MsPattern,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import { Observable, from, of, throwError } from 'rxjs';
import {
  ConnectionClosedError,
  InvalidOperationError,
  MsgHeaders,
  connect,
  telemetryOf,
  type ConnectOptions,
  type NatsConnection,
} from '../../core/internal.js';
import type { BatchPubAck } from '../../jetstream/internal.js';
import { NatsRecord } from '../nats-record.js';
import '../../jetstream/internal.js';
import { encodePayload } from '../wire.js';
import {
  publishBatch,
  publishRecord,
  type EncodedEvent,
  type NatsBatchEvent,
} from './jetstream-emit.js';
import { watchStatus } from '../status-watcher.js';
import { ReplyRouter } from './reply-router.js';

/** Options of `ClientNats`: connect options plus the default request timeout. */
export interface ClientNatsOptions extends ConnectOptions {
  /** Timeout of `send()`, reset by every streamed reply. @default 5000 */
  timeout?: number;
  /** Headers added to every request and event. */
  headers?: Record<string, string>;
  /**
   * First token of the subjects that hold delayed events (`scheduleAt()`, `delay()`) until they
   * fire: `<schedulePrefix>.<subject>.<id>`. The stream of the subject must take them too.
   * @default '_schedules'
   */
  schedulePrefix?: string;
}

/** The events of `ClientNats.on()` and the arguments their callbacks get. */
export type ClientEvents = {
  /** Connected for the first time, to the server at this URL. */
  connected: (server: string) => void;
  /** Lost the connection to the server at this URL. */
  disconnected: (server: string) => void;
  /** Starts reconnect attempt number `attempt` (from 1 since the loss). */
  reconnecting: (attempt: number) => void;
  /** Connected again, to the server at this URL. */
  reconnected: (server: string) => void;
};

/**
 * A Nest `ClientProxy` on this library's NATS client. `send()` is a request over one shared
 * inbox (plain JSON, streamed replies supported; a record built with `replyAsRecord()` gets
 * each reply as a `NatsRecord` with its headers), `emit()` publishes an event. The connection
 * is opened lazily and shared; concurrent `connect()` calls collapse into one.
 */
export class ClientNats extends ClientProxy {
  private nc: NatsConnection | null = null;
  private connecting: Promise<NatsConnection> | null = null;
  private router: ReplyRouter | null = null;
  // Bumped by close(): a connect that was in flight then closes what it opened.
  private closes = 0;
  private readonly emitter = new EventEmitter();
  private readonly log = new Logger(ClientNats.name);

  constructor(private readonly options: ClientNatsOptions = {}) {
    super();
  }
  /** What `console.log()` shows: the connection, never the options (they hold secrets). */
  [inspect.custom](): string {
    return `ClientNats { connection: ${this.nc ? inspect(this.nc) : 'none'} }`;
  }

  /** Opens the shared connection (once). */
  connect(): Promise<NatsConnection> {
    if (this.nc && !this.nc.isClosed) return Promise.resolve(this.nc);
    if (this.connecting) return this.connecting;
    const { timeout: _t, headers: _h, schedulePrefix: _p, ...connectOptions } = this.options;
    const closes = this.closes;
    const pending: Promise<NatsConnection> = connect({
      ...connectOptions,
      onError: (err) => {
        this.log.error(`${err.code}: ${err.message}`);
        connectOptions.onError?.(err);
      },
    }).then(
      async (nc) => {
        if (closes !== this.closes) {
          // close() ran while this connect was in flight: it was meant to end it too.
          await nc.close();
          throw new ConnectionClosedError('ClientNats closed');
        }
        this.nc = nc;
        this.router = new ReplyRouter(nc, this.options.timeout ?? 5000);
        if (this.connecting === pending) this.connecting = null;
        this._status$.next('connected');
        this.emitter.emit('connected', nc.connectedUrl);
        void watchStatus(nc, nc.status(), { status: this._status$, events: this.emitter });
        return nc;
      },
      (err: unknown) => {
        if (this.connecting === pending) this.connecting = null;
        throw err;
      },
    );
    this.connecting = pending;
    return pending;
  }

  /** Fails pending requests with `ConnectionClosedError` and closes the connection. */
  async close(): Promise<void> {
    this.closes++;
    const connecting = this.connecting;
    this.connecting = null;
    const nc = this.nc;
    this.nc = null;
    this.router?.failAll(new ConnectionClosedError('ClientNats closed'));
    this.router = null;
    if (nc) await nc.close();
    await connecting?.catch(() => undefined);
  }

  /** Connection events: `connected`, `disconnected`, `reconnecting`, `reconnected`. */
  override on<K extends keyof ClientEvents>(event: K, callback: ClientEvents[K]): void {
    this.emitter.on(event, callback);
  }

  /** The underlying `NatsConnection`. Throws before `connect()`. */
  unwrap<T = NatsConnection>(): T {
    if (!this.nc)
      throw new InvalidOperationError('ClientNats is not connected: call connect() first');
    return this.nc as T;
  }

  /**
   * Sends a request; once connected this skips Nest's connect-per-call wrapper (the base class
   * runs `connect()` through rxjs on every send). Before that, the base class connects lazily.
   */
  override send<TResult = unknown, TInput = unknown>(
    pattern: unknown,
    data: TInput,
  ): Observable<TResult> {
    const nc = this.nc;
    if (!nc || nc.isClosed || !this.router || data == null || pattern == null) {
      return super.send<TResult, TInput>(pattern, data);
    }
    return new Observable<TResult>((observer) =>
      this.publish(this.packet(pattern, data), this.createObserver(observer)),
    );
  }

  /**
   * Publishes an event. Once connected, a core event is published at once and the returned
   * Observable completes right away (or after the outbound buffer drains, under backpressure);
   * JetStream records resolve their `PubAck` as described at `dispatchEvent`.
   */
  override emit<TResult = unknown, TInput = unknown>(
    pattern: unknown,
    data: TInput,
  ): Observable<TResult> {
    const nc = this.nc;
    if (
      !nc ||
      nc.isClosed ||
      data === undefined ||
      data === null ||
      pattern == null ||
      (data instanceof NatsRecord && data.jetstream)
    ) {
      return super.emit<TResult, TInput>(pattern, data);
    }
    try {
      const packet = this.packet(pattern, data);
      const { payload, headers } = this.outgoing(packet.data);
      const pressure = nc.publish(
        this.normalizePattern(packet.pattern as MsPattern),
        payload,
        headers ? { headers } : undefined,
      );
      return (pressure ? from(pressure) : of(undefined)) as Observable<TResult>;
    } catch (err) {
      return throwError(() => err);
    }
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const nc = this.nc;
    const router = this.router;
    if (!nc || !router) {
      callback({ err: new ConnectionClosedError('ClientNats is not connected'), isDisposed: true });
      return () => undefined;
    }
    const subject = this.normalizePattern(packet.pattern as MsPattern);
    const asRecord = packet.data instanceof NatsRecord && packet.data.replyAsRecord;
    let outgoing: { payload: string; headers: MsgHeaders | undefined };
    try {
      outgoing = this.outgoing(packet.data);
    } catch (err) {
      callback({ err, isDisposed: true });
      return () => undefined;
    }
    const { payload, headers } = outgoing;
    // A CLIENT `send {pattern}` span from the request to its last reply, while telemetry is on.
    const traced = telemetryOf(nc)?.begin('send', subject, payload, headers) ?? null;
    const observer =
      traced === null
        ? callback
        : (reply: WritePacket) => {
            if (reply.err !== undefined && reply.err !== null) traced.span.end(reply.err);
            else if (reply.isDisposed) traced.span.end();
            callback(reply);
          };
    const route = router.open(subject, observer, asRecord);
    const sent = traced?.headers ?? headers;
    try {
      const opts = sent ? { reply: route.reply, headers: sent } : { reply: route.reply };
      void nc.publish(subject, payload, opts);
    } catch (err) {
      route.close();
      observer({ err, isDisposed: true });
    }
    if (traced === null) return route.close;
    return () => {
      traced.span.end();
      route.close();
    };
  }

  /**
   * Publishes an event. A record built with `setMsgId()`, `setJetStream()` or `setTtl()` goes
   * through JetStream and resolves the `PubAck`, so `emit()` completes only once the stream
   * stored it; one built with `scheduleAt()` / `delay()` stores a schedule and resolves a
   * `ScheduledPubAck`. A feature the server lacks fails with `FeatureNotSupportedError`.
   */
  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const nc = await this.connect();
    const subject = this.normalizePattern(packet.pattern as MsPattern);
    const { payload, headers } = this.outgoing(packet.data);
    const js = packet.data instanceof NatsRecord ? packet.data.jetstream : undefined;
    if (js) {
      const event = { subject, payload, headers, js };
      return (await publishRecord(nc, event, this.options.schedulePrefix)) as T;
    }
    await nc.publish(subject, payload, headers ? { headers } : undefined);
    return undefined as T;
  }

  /**
   * Publishes the events as one atomic batch: the stream stores all of them or none, and the
   * PubAck has the batch id and `count`. Needs nats-server 2.12+ and a stream with `allowAtomic`
   * (`FeatureNotSupportedError` before sending on an older server); at most 1,000 events, none
   * delayed (`InvalidOptionError`). A failed expectation rejects with the server's
   * `JetStreamApiError` and nothing is stored.
   */
  async emitBatch(events: NatsBatchEvent[]): Promise<BatchPubAck> {
    const nc = await this.connect();
    const encoded = events.map((e): EncodedEvent => {
      const { payload, headers } = this.outgoing(e.data);
      const js = e.data instanceof NatsRecord ? e.data.jetstream : undefined;
      const subject = this.normalizePattern(e.pattern as MsPattern);
      return { subject, payload, headers, js };
    });
    return publishBatch(nc, encoded);
  }

  /**
   * Cancels a delayed event that has not fired: `schedule` is the subject its `emit()` yielded
   * (`ScheduledPubAck.schedule`). Resolves false when there was none (it fired or was cancelled).
   */
  async cancelSchedule(schedule: string): Promise<boolean> {
    const nc = await this.connect();
    return nc.jetstream().cancelSchedule(schedule);
  }

  /** Nest 12's `createPacket` (which runs the dispatch hook); NestJS 11 has no such step. */
  private packet(pattern: unknown, data: unknown): ReadPacket {
    const base = this as unknown as {
      createPacket?: (pattern: unknown, data: unknown) => ReadPacket;
    };
    return typeof base.createPacket === 'function'
      ? base.createPacket(pattern, data)
      : { pattern, data };
  }

  private outgoing(data: unknown): { payload: string; headers: MsgHeaders | undefined } {
    const record = data instanceof NatsRecord ? data : undefined;
    let headers = record?.headers;
    if (this.options.headers) {
      for (const [k, v] of Object.entries(this.options.headers)) {
        if (!headers?.has(k)) headers = (headers ?? new MsgHeaders()).set(k, v);
      }
    }
    return { payload: encodePayload(record ? record.data : data), headers };
  }
}
