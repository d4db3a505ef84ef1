import { ConsumerNotFoundError, StreamNotFoundError, telemetryOf } from '../core/internal.js';
import type { JsApi } from './api.js';
import type { ConsumerInfo } from './consumer-config.js';
import { ConsumerMessages, type ConsumeOptions } from './consume.js';
import { fetchBatch, type FetchOptions } from './fetch.js';
import type { JsMsg } from './jsmsg.js';
import { ConsumersApi } from './manager/consumers.js';
import { checkPriorityOptions, Pin, type PullPriorityOptions } from './priority.js';
import { consumerPattern, endReceive, receiveSpan } from './telemetry.js';

/** A pull consumer bound by name: `fetch()`, `next()`, `consume()` and `info()`. */
export class PullConsumer {
  private readonly admin: ConsumersApi;
  private cached: ConsumerInfo;
  // The pin a `pinned_client` consumer gave this object's pulls, shared by fetch/next/consume.
  private readonly pin: Pin | undefined;

  /** @internal Made by `js.consumers.get()`. */
  constructor(
    private readonly api: JsApi,
    info: ConsumerInfo,
  ) {
    this.admin = new ConsumersApi(api);
    this.cached = info;
    if (info.config.priorityPolicy === 'pinned_client') this.pin = new Pin();
  }

  /**
   * Whether this object holds the pin of its `pinned_client` consumer: its pulls are the ones
   * served. False for a standby, and for other consumers.
   */
  get pinned(): boolean {
    return this.pin?.id !== undefined;
  }

  /** The stream the consumer reads. */
  get stream(): string {
    return this.cached.streamName;
  }

  /** The consumer's name. */
  get name(): string {
    return this.cached.name;
  }

  private get nextSubject(): string {
    return this.api.subject(`CONSUMER.MSG.NEXT.${this.stream}.${this.name}`);
  }

  /**
   * Pulls up to `batch` messages, waiting at most `timeout` ms (the pull's `expires`). Resolves
   * what arrived, an empty array when nothing did, and early when a clustered consumer changes
   * leader (pull again). Rejects with `ConsumerNotFoundError` when the consumer no longer exists,
   * and with a `JetStreamApiError` (status 409) when the consumer refuses the pull for breaking
   * one of its limits (`maxWaiting`, `maxBatch`, `maxExpires`). On a consumer with priority
   * groups pass `group` (else `PriorityGroupError`, before sending); priority options need
   * nats-server 2.11+ (`priority` 2.12+), else `FeatureNotSupportedError`. A `pinned_client`
   * consumer serves only the pinned client: a standby's fetch resolves empty.
   */
  fetch(batch: number, opts: FetchOptions = {}): Promise<JsMsg[]> {
    try {
      this.checkPriority(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    const nc = this.api.nc;
    // A CLIENT `receive {stream}` span from the pull to its last message, while telemetry is on.
    const span = receiveSpan(telemetryOf(nc), this.nextSubject, batch);
    const fetched = fetchBatch(nc, this.nextSubject, batch, opts, this.probe, this.pin);
    if (span !== undefined)
      fetched.then(
        (msgs) => endReceive(span, msgs.length),
        (err: unknown) => endReceive(span, 0, err),
      );
    return fetched;
  }

  /** Pulls one message, or null when none arrived within `timeout` ms. */
  async next(opts?: Omit<FetchOptions, 'maxBytes'>): Promise<JsMsg | null> {
    const [msg] = await this.fetch(1, opts);
    return msg ?? null;
  }

  /**
   * Pulls continuously; iterate the result (a `break` stops it) or pass a callback and `stop()`
   * it when done. Ends with `ConsumerNotFoundError` when the consumer disappears (deleted, or
   * lost in a restart). A pull the consumer refuses (over its `maxBatch`, `maxExpires`,
   * `maxBytes` or `maxWaiting`) is reported through `onError`, once; a batch limit is obeyed
   * from then on. Priority-group options as for `fetch()`; on a `pinned_client` consumer each
   * pull lasts at most half the `priorityTimeout` unless `expires` is given, so the pin holds
   * while the client consumes.
   */
  consume(opts: ConsumeOptions = {}): ConsumerMessages {
    this.checkPriority(opts);
    const timeout = this.cached.config.priorityTimeout;
    if (this.pin !== undefined && opts.expires === undefined && timeout !== undefined) {
      const half = Math.min(30_000, Math.max(1000, Math.floor(timeout / 2)));
      opts = { ...opts, expires: Math.max(half, 2 * (opts.idleHeartbeat ?? 0)) };
    }
    const pattern = consumerPattern(this.stream, this.cached.config);
    return new ConsumerMessages(this.api.nc, this.nextSubject, opts, this.probe, this.pin, pattern);
  }

  private checkPriority(opts: PullPriorityOptions): void {
    checkPriorityOptions(this.api.nc, opts, this.cached);
  }

  /**
   * Asks the server whether the consumer still exists: resolves the `ConsumerNotFoundError` /
   * `StreamNotFoundError` that says it is gone, else undefined (other failures tell nothing).
   */
  private readonly probe = (): Promise<Error | undefined> =>
    this.admin.info(this.stream, this.name).then(
      () => undefined,
      (err: unknown) =>
        err instanceof ConsumerNotFoundError || err instanceof StreamNotFoundError
          ? err
          : undefined,
    );

  /** The consumer's info: from the server, or the last one seen when `cached` is true. */
  async info(cached = false): Promise<ConsumerInfo> {
    if (!cached) this.cached = await this.admin.info(this.stream, this.name);
    return this.cached;
  }

  /** Deletes the consumer on the server; resolves true. */
  delete(): Promise<boolean> {
    return this.admin.delete(this.stream, this.name);
  }
}
