import { InvalidOptionError, nuid, type NatsConnection } from '../core/internal.js';
import { JsApi, type JetStreamOptions } from './api.js';
import type { ConsumerConfig } from './consumer-config.js';
import { bindOrCreate } from './consumer-binding.js';
import { ConsumersApi } from './manager/consumers.js';
import { StreamsApi } from './manager/streams.js';
import { jsPublish, type JsPublishOptions, type PubAck } from './publish.js';
import { PullConsumer } from './pull-consumer.js';
import { OrderedSubscription, type OrderedOptions } from './ordered.js';
import { pushSubscribe, type JsSubscribeOptions, type JsSubscription } from './push.js';
import { AtomicBatch, type AtomicBatchOptions } from './batch.js';
import { Counter } from './counter.js';
import { publishSchedule, type ScheduleOptions } from './schedule.js';

/** Options of `js.pullSubscribe()`. */
export interface PullSubscribeOptions {
  /** Durable name; without it an ephemeral consumer (removed when idle) is created. */
  durable?: string;
  /** The stream; looked up from the subject when absent. */
  stream?: string;
  /** Extra consumer configuration (milliseconds, camelCase). */
  config?: ConsumerConfig;
}

/** The JetStream client of a connection: publish, pull and push consumption. */
export class JetStreamClient {
  /** Pull consumers by name, and ordered consumers. */
  readonly consumers: {
    /**
     * Binds to an existing pull consumer (reading its info only: it is never changed); without a
     * name, creates an ephemeral one on the whole stream (explicit acks, removed by the server
     * 5 s after its last use). Rejects with ConsumerNotFoundError or StreamNotFoundError.
     */
    get(stream: string, name?: string): Promise<PullConsumer>;
    /** Starts an ordered consumer on the stream. Rejects with StreamNotFoundError. */
    ordered(stream: string, opts?: OrderedOptions): Promise<OrderedSubscription>;
  };
  private readonly streams: StreamsApi;
  private readonly admin: ConsumersApi;

  /** @internal Made by `nc.jetstream()` or `jetstream(nc)`. */
  constructor(
    /** @internal The JetStream API requester, shared with the layers above. */
    readonly api: JsApi,
  ) {
    this.streams = new StreamsApi(api);
    this.admin = new ConsumersApi(api);
    this.consumers = {
      get: async (stream, name) =>
        new PullConsumer(
          api,
          name === undefined
            ? await this.admin.add(stream, {
                name: nuid.next(),
                ackPolicy: 'explicit',
                inactiveThreshold: 5000,
              })
            : await this.admin.info(stream, name),
        ),
      ordered: async (stream, opts) =>
        new OrderedSubscription(api, this.admin, stream, opts).start(),
    };
  }

  /** The connection this client uses. */
  get nc(): NatsConnection {
    return this.api.nc;
  }

  /**
   * Publishes to a stream and resolves its PubAck. Rejects with `JetStreamApiError` when an
   * expectation fails, `MessageTtlDisabledError` for a `ttl` the stream does not allow,
   * `NoStreamForSubjectError` when no stream captures the subject, or `TimeoutError`; a `ttl`
   * below 2.11 rejects with `FeatureNotSupportedError` before sending.
   */
  publish(subject: string, data?: Uint8Array | string, opts?: JsPublishOptions): Promise<PubAck> {
    return jsPublish(this.api, subject, data, opts);
  }

  /**
   * Starts an atomic batch (nats-server 2.12+, a stream with `allowAtomic`): `add()` messages,
   * then `commit()`; all are stored or none. Throws `FeatureNotSupportedError` on older servers.
   */
  batch(opts?: AtomicBatchOptions): AtomicBatch {
    return new AtomicBatch(this.api, opts);
  }

  /** A counter on `subject` of a stream with `allowMsgCounter` (nats-server 2.12+). */
  counter(subject: string): Counter {
    return new Counter(this.api, this.streams, subject);
  }

  /**
   * Publishes a schedule on `subject` (a stream with `allowMsgSchedules`): `at` needs
   * nats-server 2.12, `every`, `cron`, `source` and `timeZone` need 2.14; on an older server it
   * throws `FeatureNotSupportedError` before sending. Resolves the schedule message's PubAck.
   */
  schedule(subject: string, opts: ScheduleOptions): Promise<PubAck> {
    return publishSchedule(this.api, subject, opts);
  }

  /**
   * Cancels the schedule on `subject` by purging the subject; resolves false when there was none
   * (an `at` schedule that already fired is gone). The stream is looked up unless given.
   */
  async cancelSchedule(subject: string, opts: { stream?: string } = {}): Promise<boolean> {
    const stream = opts.stream ?? (await this.streams.find(subject));
    return (await this.streams.purge(stream, { filter: subject })).purged > 0;
  }

  /**
   * Binds to the pull consumer `durable` (or `config.name`) when it exists, never changing it,
   * else creates it filtered on `subject` (an ephemeral one without a name); `fetch()` it.
   * Rejects with `ConsumerConfigConflictError` naming the fields when the existing consumer's
   * config differs from what was asked for (its filter, or any field set in `config`),
   * `InvalidOptionError` when it is a push consumer, and `StreamNotFoundError` when no stream
   * captures the subject.
   */
  async pullSubscribe(subject: string, opts: PullSubscribeOptions = {}): Promise<PullConsumer> {
    const stream = opts.stream ?? (await this.streams.find(subject));
    const name = opts.durable ?? opts.config?.durableName ?? opts.config?.name;
    const config: ConsumerConfig = { filterSubject: subject, ...opts.config };
    if (opts.durable) config.durableName = opts.durable;
    if (name === undefined) {
      config.name = nuid.next();
      config.inactiveThreshold ??= 5000;
      return new PullConsumer(this.api, await this.admin.add(stream, config));
    }
    const { info } = await bindOrCreate(this.admin, this.streams, stream, name, config);
    if (info.config.deliverSubject)
      throw new InvalidOptionError(`consumer ${stream}/${name} is a push consumer`);
    return new PullConsumer(this.api, info);
  }

  /**
   * Creates a push consumer delivering to a new inbox and subscribes to it; with `durable`,
   * binds to it when it exists. Heartbeats are swallowed and flow control answered. With
   * `ordered: true` it is an ordered consumer (no acks, recreated on gaps).
   */
  subscribe(
    subject: string,
    opts: JsSubscribeOptions & { ordered: true },
  ): Promise<OrderedSubscription>;
  subscribe(subject: string, opts?: JsSubscribeOptions): Promise<JsSubscription>;
  async subscribe(
    subject: string,
    opts: JsSubscribeOptions = {},
  ): Promise<JsSubscription | OrderedSubscription> {
    if (!opts.ordered) return pushSubscribe(this.api, this.streams, this.admin, subject, opts);
    checkOrderedOptions(opts);
    const stream = opts.stream ?? (await this.streams.find(subject));
    const ordered = new OrderedSubscription(this.api, this.admin, stream, {
      filterSubject: subject,
      deliverPolicy: opts.deliverPolicy ?? opts.config?.deliverPolicy,
      optStartSeq: opts.config?.optStartSeq,
      optStartTime: opts.config?.optStartTime,
      headersOnly: opts.config?.headersOnly,
      idleHeartbeat: opts.idleHeartbeat,
      callback: opts.callback,
    });
    return ordered.start();
  }
}

/**
 * An ordered consumer is ephemeral, ack-less, single-delivery push consumer the library
 * recreates at will (ADR-17): options that contradict that are refused, not ignored.
 */
function checkOrderedOptions(opts: JsSubscribeOptions): void {
  const c = opts.config ?? {};
  const refused: string[] = [];
  if (opts.durable !== undefined || c.durableName !== undefined) refused.push('durable');
  if (opts.queue !== undefined || c.deliverGroup !== undefined) refused.push('queue');
  if (c.deliverSubject !== undefined) refused.push('deliverSubject');
  if (opts.manualAck) refused.push('manualAck');
  if (c.ackPolicy !== undefined && c.ackPolicy !== 'none') refused.push(`ackPolicy ${c.ackPolicy}`);
  if (c.maxDeliver !== undefined && c.maxDeliver !== 1) refused.push(`maxDeliver ${c.maxDeliver}`);
  if (c.flowControl === false) refused.push('flowControl false');
  if (c.memStorage === false) refused.push('memStorage false');
  if (c.numReplicas !== undefined) refused.push('numReplicas');
  if (refused.length > 0)
    throw new InvalidOptionError(`an ordered consumer cannot have ${refused.join(', ')}`);
}

/** The JetStream client of `nc` (no server round trip). */
export function jetstream(nc: NatsConnection, opts?: JetStreamOptions): JetStreamClient {
  return new JetStreamClient(new JsApi(nc, opts));
}
