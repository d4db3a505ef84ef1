import { InvalidOptionError, MsgHeaders, type HeadersInit } from '../core/internal.js';

/**
 * When a delayed event is published: at `at`, or `delay` ms after `emit()` is called. The
 * schedule message lives on `<schedulePrefix>.<subject>.<id>` until it fires.
 */
export interface NatsRecordSchedule {
  /** Fire at this time. */
  at?: Date;
  /** Fire this many milliseconds after the record is emitted. */
  delay?: number;
  /**
   * The last token of the schedule subject: emitting again with the same id replaces the
   * schedule that has not fired yet. @default a new unique id per emit
   */
  id?: string;
}

/** How a record is published through JetStream (see `NatsRecordBuilder`). */
export interface NatsRecordJetStream {
  /** The `Nats-Msg-Id` the stream deduplicates on. */
  msgId?: string;
  /** The stream that must store the message (else the publish fails). */
  expectStream?: string;
  /** Per-message TTL: milliseconds in whole seconds (>= 1000), or `'never'`. */
  ttl?: number | 'never';
  /** Publish later through a message schedule. */
  schedule?: NatsRecordSchedule;
}

/** A payload with NATS headers, for `ClientNats.send()/emit()` and for handler replies. */
export class NatsRecord<TData = unknown> {
  constructor(
    /** The payload, sent as JSON. */
    readonly data: TData,
    /** The NATS headers, or undefined for none. */
    readonly headers: MsgHeaders | undefined,
    /** JetStream publish options: set to publish through JetStream and get a PubAck back. */
    readonly jetstream?: NatsRecordJetStream,
    /**
     * On a request record: `ClientNats.send()` emits each reply as a `NatsRecord` (the decoded
     * payload and the reply's headers, or undefined) instead of the bare payload.
     * @default false
     */
    readonly replyAsRecord = false,
  ) {}
}

/** Builds a `NatsRecord`: `new NatsRecordBuilder(data).setHeaders({ 'x-id': '1' }).build()`. */
export class NatsRecordBuilder<TData = unknown> {
  private headers: MsgHeaders | undefined;
  private js: NatsRecordJetStream | undefined;
  private asRecord = false;

  constructor(private data?: TData) {}

  /** Replaces the payload. */
  setData(data: TData): this {
    this.data = data;
    return this;
  }

  /** Sets the NATS headers, replacing any set before; throws `InvalidOptionError` if one is invalid. */
  setHeaders(headers: HeadersInit): this {
    this.headers = MsgHeaders.from(headers);
    return this;
  }

  /** Publish through JetStream with this message id (deduplication); `emit()` then yields the PubAck. */
  setMsgId(msgId: string): this {
    this.js = { ...this.js, msgId };
    return this;
  }

  /** Publish through JetStream (`emit()` yields the PubAck), optionally expecting a stream. */
  setJetStream(opts: { msgId?: string; expectStream?: string } = {}): this {
    this.js = { ...this.js, ...opts };
    return this;
  }

  /**
   * Publish through JetStream with a per-message TTL (the stream removes the message after it):
   * milliseconds in whole seconds, at least 1000, or `'never'`. Needs nats-server 2.11+ and a
   * stream with `allowMsgTtl`; `emit()` fails with `FeatureNotSupportedError` on an older
   * server, before sending. On a delayed record it is the TTL of the message the schedule
   * publishes.
   */
  setTtl(ttl: number | 'never'): this {
    this.js = { ...this.js, ttl };
    return this;
  }

  /**
   * Publish the event at `at` through a message schedule (nats-server 2.12+, else `emit()`
   * fails with `FeatureNotSupportedError` before sending). The schedule message goes to
   * `<schedulePrefix>.<subject>.<id>` (`ClientNatsOptions.schedulePrefix`, default
   * `_schedules`), which the stream of the subject must also take, with `allowMsgSchedules`.
   * `emit()` yields the schedule's PubAck with its `schedule` subject (for `cancelSchedule()`).
   */
  scheduleAt(at: Date, opts: { id?: string } = {}): this {
    if (!(at instanceof Date) || Number.isNaN(at.getTime()))
      throw new InvalidOptionError('scheduleAt() needs a valid Date');
    this.js = { ...this.js, schedule: { at, ...opts } };
    return this;
  }

  /** As `scheduleAt()`, `delay` milliseconds after `emit()` is called. */
  delay(delay: number, opts: { id?: string } = {}): this {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0)
      throw new InvalidOptionError(`delay must be milliseconds >= 0, got ${String(delay)}`);
    this.js = { ...this.js, schedule: { delay, ...opts } };
    return this;
  }

  /**
   * Makes `send()` emit every reply as a `NatsRecord`, so the caller can read reply headers:
   * `client.send<NatsRecord<Order>>('orders.get', record)`. Errors are unchanged.
   */
  replyAsRecord(): this {
    this.asRecord = true;
    return this;
  }

  /** The record to pass to `send()`/`emit()` or to return from a handler. */
  build(): NatsRecord<TData> {
    return new NatsRecord(this.data as TData, this.headers, this.js, this.asRecord);
  }
}
