import { MsgHeaders, type HeadersInit } from '../core/internal.js';

/** A payload with NATS headers, for `ClientNats.send()/emit()` and for handler replies. */
export class NatsRecord<TData = unknown> {
  constructor(
    /** The payload, sent as JSON. */
    readonly data: TData,
    /** The NATS headers, or undefined for none. */
    readonly headers: MsgHeaders | undefined,
    /** JetStream publish options: set to publish through JetStream and get a PubAck back. */
    readonly jetstream?: {
      /** The `Nats-Msg-Id` the stream deduplicates on. */
      msgId?: string;
      /** The stream that must store the message (else the publish fails). */
      expectStream?: string;
    },
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
  private js: { msgId?: string; expectStream?: string } | undefined;
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
