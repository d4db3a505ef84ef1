import {
  CallbackRunner,
  IdleMonitor,
  MsgQueue,
  checkDelay,
  internalsOf,
  telemetryOf,
  serverAtLeast,
  type ConnectionTelemetry,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '../core/internal.js';
import type { JsApi } from './api.js';
import type { ConsumerConfig, DeliverPolicy } from './consumer-config.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import type { ConsumersApi } from './manager/consumers.js';
import { StreamsApi } from './manager/streams.js';
import {
  OrderedReaders,
  type OrderedBatch,
  type OrderedConsumeOptions,
  type OrderedFetchOptions,
  type OrderedMessages,
  type OrderedNextOptions,
  type OrderedReadHooks,
} from './ordered-readers.js';
import { OrderedLifecycle, OrderedSequence, rfc3339Nanos } from './ordered-sequence.js';
import { runCallback } from './telemetry.js';

/** Options of an ordered consumer (`js.consumers.ordered()`, `js.subscribe({ ordered })`). */
export interface OrderedOptions {
  /** Only messages on this subject (wildcards allowed). */
  filterSubject?: string;
  /** @default 'all' */
  deliverPolicy?: DeliverPolicy;
  /** The first stream sequence to deliver, with `deliverPolicy: 'by_start_sequence'`. */
  optStartSeq?: number;
  /** Deliver from this time on (RFC 3339), with `deliverPolicy: 'by_start_time'`. */
  optStartTime?: string;
  /** Deliver headers only (plus `Nats-Msg-Size`). */
  headersOnly?: boolean;
  /** Idle heartbeat in milliseconds; 3 missed ones recreate the consumer. @default 5000 */
  idleHeartbeat?: number;
  /** Called with each message; without it, iterate. */
  callback?: (msg: JsMsg) => unknown;
}

const MAX_BACKOFF_MS = 10_000;
// The first release whose subject purges no longer move consumers with a wider filter past
// other subjects' messages (measured: 2.9.10 skips; 2.10.27, 2.11.17, 2.12.15, 2.14.10 do not).
const PURGE_SKIP_FIXED_IN = '2.10.0';

/**
 * An ordered consumer (ADR-17, push variant): in-order, gap-free, ack-less reading. On a gap in
 * the consumer sequence, missed heartbeats, a deleted consumer or a reconnect it recreates its
 * ephemeral consumer from the last stream sequence seen.
 *
 * Read it by iterating it, or as a pull consumer is read: `consume()`, `fetch()`, `next()`. One
 * reader at a time (a second one meanwhile fails with `InvalidOperationError`); one after the
 * other they continue where the last stopped. With the `callback` option none of them is allowed.
 */
export class OrderedSubscription implements AsyncIterable<JsMsg> {
  /** Resolves once `stop()` was called or the connection closed. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private gen = 0;
  /** Where it reads, what it expects next, and where a new consumer starts. */
  private readonly seq: OrderedSequence;
  /** Reading, recreating (and whether another reset follows) or stopped. */
  private readonly life = new OrderedLifecycle();
  private sub: Subscription | undefined;
  private consumer = '';
  private lastFc = '';
  // Messages, and the flow-control subjects answered when they reach the head of the queue.
  private readonly queue = new MsgQueue<JsMsg | string>();
  private readonly callback: CallbackRunner<JsMsg> | undefined;
  private readonly tel: ConnectionTelemetry | undefined;
  private readonly hb: number;
  private readonly monitor: IdleMonitor;
  private readonly statusIter: AsyncIterableIterator<Status>;
  private readonly readers: OrderedReaders;

  /** @internal Created by `js.consumers.ordered()` and `js.subscribe({ ordered: true })`. */
  constructor(
    private readonly api: JsApi,
    private readonly admin: ConsumersApi,
    /** The stream read. */
    readonly stream: string,
    private readonly opts: OrderedOptions = {},
  ) {
    this.hb = opts.idleHeartbeat ?? 5000;
    checkDelay(this.hb, 'idleHeartbeat', 1);
    this.seq = new OrderedSequence({
      deliverPolicy: opts.deliverPolicy ?? 'all',
      optStartSeq: opts.optStartSeq,
      optStartTime: opts.optStartTime,
    });
    this.closed = new Promise((r) => (this.resolveClosed = r));
    if (opts.callback)
      this.callback = new CallbackRunner(opts.callback, internalsOf(this.nc), msgSubject);
    this.tel = telemetryOf(this.nc);
    // Three heartbeats missed recreate the consumer.
    this.monitor = new IdleMonitor({
      interval: this.hb,
      misses: 3,
      paused: () => this.life.name !== 'reading' || !this.nc.isConnected,
      onIdle: () => void this.reset(),
    });
    this.statusIter = this.nc.status();
    void this.watchStatus();
    const queue = this.queue;
    this.readers = new OrderedReaders({
      nc: this.nc,
      pattern: opts.filterSubject ?? stream,
      callbackMode: opts.callback !== undefined,
      get buffered() {
        return queue.length;
      },
      read: (hooks) => this.read(hooks),
      wake: () => queue.wake(),
    });
  }

  private get nc(): NatsConnection {
    return this.api.nc;
  }

  /** How many times the consumer was recreated. */
  get resets(): number {
    return this.life.resets;
  }

  /** The name of the current incarnation of the consumer. */
  get consumerName(): string {
    return this.consumer;
  }

  /** Internal: creates the first consumer. Rejects with the API error. */
  async start(): Promise<this> {
    await this.create();
    return this;
  }

  /**
   * Replaces the consumer with one that starts right after stream sequence `seq`, dropping
   * whatever the current one delivers from now on. Used after a `last_per_subject` snapshot:
   * nats-server before 2.11.7 can skip a message that follows such a snapshot (a skip-list bug,
   * nats-server#7005), while a `by_start_sequence` consumer cannot. The KV and object watches
   * call it on those servers only.
   */
  restartAfter(seq: number): void {
    if (this.life.name === 'stopped') return;
    this.seq.restartAfter(seq);
    // Whatever a consumer delivers from now on, even one still being created, is unwanted.
    this.drop();
    void this.reset(false);
  }

  /** Stops reading and deletes the current consumer (best effort). */
  stop(): void {
    if (!this.life.stop()) return;
    this.monitor.stop();
    void this.statusIter.return?.();
    this.drop();
    this.queue.end();
    this.resolveClosed();
  }

  /** Yields the messages in order until stopped; a `break` out of the loop stops it too. */
  [Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    // Nobody reads any more: delete the consumer rather than let it fill a queue.
    return this.readers.iterate(() => this.stop());
  }

  /**
   * Reads continuously, in order: iterate the result or pass a `callback`. Its `stop()` (or a
   * `break`) ends that reader only; the ordered consumer goes on until its own `stop()`. Throws
   * `InvalidOperationError` while another reader reads.
   */
  consume(opts?: OrderedConsumeOptions): OrderedMessages {
    return this.readers.consume(opts);
  }

  /**
   * A batch of up to `maxMessages` (default 100) messages in order, waiting at most `expires` ms
   * (default 30000) for them; iterate it. A gap meanwhile recreates the consumer and the batch
   * goes on from the last message. Throws `InvalidOperationError` while another reader reads.
   */
  fetch(opts?: OrderedFetchOptions): OrderedBatch {
    return this.readers.fetch(opts);
  }

  /**
   * The next message in order, or null when none came within `expires` ms (default 30000) or
   * the consumer stopped. Rejects with `InvalidOperationError` while another reader reads.
   */
  next(opts?: OrderedNextOptions): Promise<JsMsg | null> {
    return this.readers.next(opts);
  }

  private read(hooks: OrderedReadHooks): AsyncGenerator<JsMsg> {
    return this.queue.read({
      refused: hooks.refused,
      done: hooks.done,
      taken: (item) => {
        if (typeof item === 'string') {
          this.answerFc(item);
          return false;
        }
        hooks.taken?.(item);
        return true;
      },
      exit: hooks.exit,
    }) as AsyncGenerator<JsMsg>;
  }

  private async create(): Promise<void> {
    const gen = ++this.gen;
    const inbox = this.nc.newInbox();
    this.sub = this.nc.subscribe(inbox, { callback: (m) => this.onMsg(gen, m) });
    const o = this.opts;
    const config: ConsumerConfig = {
      ackPolicy: 'none',
      maxDeliver: 1,
      flowControl: true,
      memStorage: true,
      numReplicas: 1,
      ackWait: 22 * 3600 * 1000,
      idleHeartbeat: this.hb,
      deliverSubject: inbox,
      filterSubject: o.filterSubject,
      headersOnly: o.headersOnly,
      // Whether the server has the purge skip is known from the INFO of the server this
      // incarnation is created through (a reconnect, possibly to another release, creates one).
      ...this.seq.begin(!serverAtLeast(this.nc, PURGE_SKIP_FIXED_IN)),
    };
    this.monitor.alive();
    try {
      const info = await this.admin.add(this.stream, config);
      // Stopped or replaced while it was being created: it must not outlive us.
      if (gen === this.gen && this.life.name !== 'stopped') {
        this.consumer = info.name;
        this.seq.created(rfc3339Nanos(info.created) ?? 0n, info.numPending);
      } else this.admin.delete(this.stream, info.name).catch(() => undefined);
    } catch (err) {
      this.sub.unsubscribe();
      throw err;
    }
  }

  private onMsg(gen: number, msg: Msg): void {
    if (gen !== this.gen || this.life.name === 'stopped') return;
    this.monitor.alive();
    if (isJsMsg(msg)) {
      const jm = new JsMsg(msg, this.nc);
      const verdict = this.seq.message(jm);
      if (verdict === 'deliver') return this.deliver(jm);
      return void this.reset(verdict === 'reset');
    }
    const h = msg.headers;
    if (h === undefined) return;
    if (h.status === 100) {
      const stalled = h.get('Nats-Consumer-Stalled');
      if (stalled) void this.nc.publish(stalled);
      if (this.seq.heartbeat(h.get('Nats-Last-Consumer'))) return void this.reset();
      if (msg.reply) {
        if (this.callback) this.answerFc(msg.reply);
        else this.queue.push(msg.reply);
      }
    } else if (h.status === 409 && /consumer deleted/i.test(h.description)) void this.reset();
  }

  private deliver(msg: JsMsg): void {
    // The runner reports a failed callback itself; delivery does not wait for an async one.
    if (this.callback) {
      const tel = this.tel;
      if (tel?.hooks) {
        const pattern = this.opts.filterSubject ?? this.stream;
        void runCallback(tel, this.callback, msg, pattern, false);
      } else void this.callback.run(msg);
    }
    // A queued message must not pin its whole socket read chunk.
    else if (this.queue.push(msg)) msg.msg.detach();
  }

  // Flow control is answered once per subject, when it reaches the head of the queue.
  private answerFc(subject: string): void {
    if (subject === this.lastFc || this.life.name === 'stopped') return;
    this.lastFc = subject;
    void this.nc.publish(subject);
  }

  /**
   * Recreates the consumer from the last stream sequence, retrying with a backoff. Unless the
   * caller knows the stream is the same (`mayBeRecreated` false saves a STREAM.INFO), a stream
   * created since the last message seen is read from the start. Asked again while it runs (a
   * message of the consumer being created calls for it), it runs once more after.
   */
  private async reset(mayBeRecreated = true): Promise<void> {
    if (!this.life.reset(mayBeRecreated)) return;
    for (let check = mayBeRecreated; ;) {
      this.life.round();
      this.drop();
      await this.recreate(check);
      const next = this.life.roundDone();
      if (next === undefined) return;
      check = next;
    }
  }

  private async recreate(checkStream: boolean): Promise<void> {
    for (
      let wait = 500;
      this.life.name === 'recreating';
      wait = Math.min(wait * 2, MAX_BACKOFF_MS)
    ) {
      try {
        if (checkStream) await this.checkStream();
        await this.create();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }

  /**
   * Asks when the stream was created: one created after the last message we saw was stored was
   * deleted and made again, and is read from the start (see `OrderedSequence.streamCreated`).
   * Unknown (no permission to read stream info, stream still missing) counts as not recreated.
   */
  private async checkStream(): Promise<void> {
    if (!this.seq.streamCheckable) return;
    try {
      const info = await new StreamsApi(this.api).info(this.stream);
      this.seq.streamCreated(rfc3339Nanos(info.created));
    } catch {
      // unknown: resume after the last message seen
    }
  }

  private drop(): void {
    this.gen++;
    this.sub?.unsubscribe();
    this.sub = undefined;
    const name = this.consumer;
    this.consumer = '';
    if (name && this.nc.isConnected) this.admin.delete(this.stream, name).catch(() => undefined);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.statusIter) {
      if (this.life.name === 'stopped') return;
      if (s.type === 'reconnect') void this.reset();
      else if (s.type === 'close') return this.stop();
    }
  }
}

const msgSubject = (msg: JsMsg): string => msg.subject;
