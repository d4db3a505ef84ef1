import { MsgHeaders, type HeadersInit } from '../core/index.js';

/** A payload with NATS headers, for `ClientNats.send()/emit()` and for handler replies. */
export class NatsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly headers: MsgHeaders | undefined,
    /** JetStream publish options: set to publish through JetStream and get a PubAck back. */
    readonly jetstream?: { msgId?: string; expectStream?: string },
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

  setData(data: TData): this {
    this.data = data;
    return this;
  }

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

  build(): NatsRecord<TData> {
    return new NatsRecord(this.data as TData, this.headers, this.js, this.asRecord);
  }
}
