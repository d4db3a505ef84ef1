import {
  CallbackRunner,
  IdleMonitor,
  ConsumerNotFoundError,
  DEFAULT_JS_SUB_PENDING_BYTES_LIMIT,
  DEFAULT_JS_SUB_PENDING_MSGS_LIMIT,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  TimeoutError,
  internalsOf,
  telemetryOf,
  type ConnectionTelemetry,
  type Msg,
  type Subscription,
} from '../core/internal.js';
import type { JsApi } from './api.js';
import type { ConsumerConfig, ConsumerInfo, DeliverPolicy } from './consumer-config.js';
import { checkBinding } from './consumer-binding.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import type { ConsumersApi } from './manager/consumers.js';
import type { StreamsApi } from './manager/streams.js';
import { consumerPattern, runCallback } from './telemetry.js';

/** Options of `js.subscribe()` (push consumers). */
export interface JsSubscribeOptions {
  /** Called with each message; without it, iterate the subscription. */
  callback?: (msg: JsMsg) => unknown;
  /**
   * Durable name: binds to the consumer when it exists, never changing it (an option that
   * contradicts it rejects with `ConsumerConfigConflictError`), else creates it.
   */
  durable?: string;
  /** Deliver group: each message goes to one member. No heartbeats or flow control then. */
  queue?: string;
  /** When false, a message is acked once the callback returned (or when iterated). @default false */
  manualAck?: boolean;
  /** Where a new consumer starts delivering. @default 'all' */
  deliverPolicy?: DeliverPolicy;
  /** Extra consumer configuration (milliseconds, camelCase). */
  config?: ConsumerConfig;
  /** Ask for flow control (needs a heartbeat; one of 5 s is chosen when none is given). */
  flowControl?: boolean;
  /** Idle heartbeat in milliseconds; 3 missed ones are reported through `nc.status()`. */
  idleHeartbeat?: number;
  /** The stream; looked up from the subject when absent. */
  stream?: string;
  /** An ordered consumer: ack-less, in order, recreated on gaps (ADR-17). */
  ordered?: boolean;
}

/** A push subscription: iterate it (unless it has a callback), `unsubscribe()` or `destroy()` it. */
export class JsSubscription implements AsyncIterable<JsMsg> {
  private lastFc = '';
  private readonly monitor: IdleMonitor | undefined;
  // Runs the callback given to dispatch() (always the subscription's own callback).
  private runner: CallbackRunner<JsMsg> | undefined;
  // The telemetry that makes the callback's process spans, unless the core does (a deliver
  // subject that is no inbox is traced as a plain subscription).
  private readonly tel: ConnectionTelemetry | undefined;

  /** @internal Created by `js.subscribe()`. */
  constructor(
    private readonly api: JsApi,
    private readonly admin: ConsumersApi,
    /** The core subscription on the consumer's deliver subject. */
    readonly sub: Subscription,
    private readonly info: ConsumerInfo,
    private readonly autoAck: boolean,
  ) {
    const tel = telemetryOf(api.nc);
    this.tel = tel !== undefined && !tel.traces(sub.subject) ? tel : undefined;
    const hb = info.config.idleHeartbeat ?? 0;
    if (hb > 0) {
      // Three heartbeats (or any message) should arrive in every window of three intervals.
      this.monitor = new IdleMonitor({
        interval: hb * 3,
        misses: 1,
        activity: () => sub.delivered,
        paused: () => !api.nc.isConnected,
        onIdle: () => this.heartbeatsMissed(hb),
      });
      void sub.closed.then(() => this.monitor?.stop());
    }
  }

  /** Times the idle heartbeat was missed. */
  get missedHeartbeats(): number {
    return this.monitor?.missed ?? 0;
  }

  /** The stream the consumer reads. */
  get stream(): string {
    return this.info.streamName;
  }
  /** The consumer's name. */
  get consumer(): string {
    return this.info.name;
  }
  /** Resolves when the subscription ends. */
  get closed(): Promise<Error | undefined> {
    return this.sub.closed;
  }

  /** The consumer's current info from the server. */
  consumerInfo(): Promise<ConsumerInfo> {
    return this.admin.info(this.stream, this.consumer);
  }

  /** Stops receiving; an ephemeral consumer then goes away by itself. */
  unsubscribe(): void {
    this.sub.unsubscribe();
  }

  /** Stops receiving and deletes the consumer (durable ones too). */
  async destroy(): Promise<void> {
    this.sub.unsubscribe();
    await this.admin.delete(this.stream, this.consumer);
  }

  /** Yields each message, acked as it is yielded unless `manualAck` is set. */
  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    for await (const msg of this.sub) {
      const jm = this.handle(msg);
      if (jm === undefined) continue;
      if (this.autoAck) jm.ack();
      yield jm;
    }
  }

  /** Internal: routes one core message; returns the JsMsg to deliver, or undefined. */
  handle(msg: Msg): JsMsg | undefined {
    if (isJsMsg(msg)) return new JsMsg(msg, this.api.nc);
    const h = msg.headers;
    if (h === undefined || h.status === 0) return undefined;
    if (h.status === 100) {
      // Flow control is answered when it reaches the head of the queue, i.e. now.
      if (msg.reply && msg.reply !== this.lastFc) {
        this.lastFc = msg.reply;
        void this.api.nc.publish(msg.reply);
      }
      const stalled = h.get('Nats-Consumer-Stalled');
      if (stalled) void this.api.nc.publish(stalled);
      return undefined;
    }
    const text = `push consumer ${this.consumer}: ${h.status} ${h.description}`;
    internalsOf(this.api.nc).reportError(new JetStreamApiError(text, 0, h.status));
    return undefined;
  }

  /** Internal: runs the user callback for one core message. */
  dispatch(msg: Msg, callback: (msg: JsMsg) => unknown): void {
    const jm = this.handle(msg);
    if (jm === undefined) return;
    this.runner ??= new CallbackRunner(
      callback,
      internalsOf(this.api.nc),
      (m) => m.subject,
      this.autoAck ? ack : undefined,
    );
    // The runner reports a failed callback itself; delivery does not wait.
    if (this.tel?.hooks) {
      const pattern = consumerPattern(this.stream, this.info.config);
      void runCallback(this.tel, this.runner, jm, pattern, false);
    } else void this.runner.run(jm);
  }

  private heartbeatsMissed(hb: number): void {
    const err = new TimeoutError(`push consumer ${this.consumer}: no heartbeat for ${hb * 3} ms`);
    internalsOf(this.api.nc).reportError(err);
  }
}

const ack = (msg: JsMsg): void => msg.ack();

/** Creates or binds the push consumer for `js.subscribe()`, subscribing before creating it. */
export async function pushSubscribe(
  api: JsApi,
  streams: StreamsApi,
  admin: ConsumersApi,
  subject: string,
  opts: JsSubscribeOptions,
): Promise<JsSubscription> {
  const stream = opts.stream ?? (await streams.find(subject));
  const durable = opts.durable ?? opts.config?.durableName;
  // What was asked for, before the library's own choices (inbox, default heartbeat).
  const wanted: ConsumerConfig = { filterSubject: subject, ...opts.config };
  if (durable) wanted.durableName = durable;
  if (opts.deliverPolicy) wanted.deliverPolicy = opts.deliverPolicy;
  if (opts.queue) wanted.deliverGroup = opts.queue;
  if (opts.idleHeartbeat) wanted.idleHeartbeat = opts.idleHeartbeat;
  if (opts.flowControl) wanted.flowControl = true;
  let existing: ConsumerInfo | undefined;
  if (durable) {
    existing = await admin.info(stream, durable).catch((err: unknown) => {
      if (err instanceof ConsumerNotFoundError) return undefined;
      throw err;
    });
  }
  if (existing && !existing.config.deliverSubject)
    throw new InvalidOptionError(`consumer ${durable} is a pull consumer`);
  // Two subscribers on one push consumer (not a deliver group) would each get every message.
  if (existing?.pushBound && !existing.config.deliverGroup)
    throw new JetStreamApiError(
      `consumer ${durable} is already bound to a subscription (use a queue to share it)`,
      JsApiCode.CONSUMER_ALREADY_BOUND,
      400,
    );
  // Binding never changes the consumer: what it was asked for must be what it has.
  if (existing) await checkBinding(streams, existing, wanted);
  const config: ConsumerConfig = { ...wanted };
  if (config.flowControl) config.idleHeartbeat ??= 5000;
  const queue = existing?.config.deliverGroup ?? config.deliverGroup;
  if (queue && (config.flowControl || config.idleHeartbeat))
    throw new InvalidOptionError('queue subscriptions cannot use heartbeats or flow control');
  const deliver = existing?.config.deliverSubject ?? api.nc.newInbox();
  config.deliverSubject = deliver;
  let js: JsSubscription | undefined;
  // Deliveries may overtake the create response; hold them until the subscription exists.
  const early: Msg[] = [];
  const callback = opts.callback;
  const sub = api.nc.subscribe(deliver, {
    queue,
    pendingMsgsLimit: DEFAULT_JS_SUB_PENDING_MSGS_LIMIT,
    pendingBytesLimit: DEFAULT_JS_SUB_PENDING_BYTES_LIMIT,
    callback: callback && ((m: Msg) => (js ? js.dispatch(m, callback) : early.push(m))),
  });
  try {
    const info = existing ?? (await admin.add(stream, config));
    js = new JsSubscription(api, admin, sub, info, opts.manualAck !== true);
    if (callback) for (const m of early.splice(0)) js.dispatch(m, callback);
    return js;
  } catch (err) {
    sub.unsubscribe();
    throw err;
  }
}
