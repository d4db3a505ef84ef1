import {
  CallbackRunner,
  IdleMonitor,
  MsgQueue,
  checkDelay,
  internalsOf,
  serverAtLeast,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '../core/internal.js';
import type { JsApi } from './api.js';
import type { ConsumerConfig, DeliverPolicy } from './config.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import type { ConsumersApi } from './manager/consumers.js';
import { StreamsApi } from './manager/streams.js';

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
// Clustered servers stamp messages and consumers with their own clocks.
const CLOCK_SKEW_NS = 1_000_000_000n;
// The first release whose subject purges no longer move consumers with a wider filter past
// other subjects' messages (measured: 2.9.10 skips; 2.10.27, 2.11.17, 2.12.15, 2.14.10 do not).
const PURGE_SKIP_FIXED_IN = '2.10.0';

/**
 * An ordered consumer (ADR-17, push variant): in-order, gap-free, ack-less reading. On a gap in
 * the consumer sequence, missed heartbeats, a deleted consumer or a reconnect it recreates its
 * ephemeral consumer from the last stream sequence seen.
 */
export class OrderedSubscription implements AsyncIterable<JsMsg> {
  /** Resolves once `stop()` was called or the connection closed. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private gen = 0;
  private expected = 1;
  private lastSseq = 0;
  /** Server timestamp (ns) of the last message seen, to tell a re-created stream apart. */
  private lastStamp = 0n;
  /** A rollup read again after it followed a gap: seeing it again after that gap is fine. */
  private rereadRollup = 0;
  /** 'snapshot' while a last-per-subject snapshot runs: its gaps are older values, left out. */
  private phase: 'snapshot' | 'live' = 'snapshot';
  /** When the current incarnation was created (ns since the epoch; 0 until the server said). */
  private createdNanos = 0n;
  /** The connected server has the purge skip (see `mayFollowSkip`); set per incarnation. */
  private purgeMaySkip = true;
  private sub: Subscription | undefined;
  private consumer = '';
  private state: 'reading' | 'recreating' | 'stopped' = 'reading';
  private resetCount = 0;
  /** A reset asked for while one ran: it follows that one. */
  private nextReset: 'none' | 'same-stream' | 'check-stream' = 'none';
  private lastFc = '';
  // Messages, and the flow-control subjects answered when they reach the head of the queue.
  private readonly queue = new MsgQueue<JsMsg | string>();
  private readonly callback: CallbackRunner<JsMsg> | undefined;
  private readonly hb: number;
  private readonly monitor: IdleMonitor;
  private readonly statusIter: AsyncIterableIterator<Status>;

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
    this.closed = new Promise((r) => (this.resolveClosed = r));
    if (opts.callback)
      this.callback = new CallbackRunner(opts.callback, internalsOf(this.nc), msgSubject);
    // Three heartbeats missed recreate the consumer.
    this.monitor = new IdleMonitor({
      interval: this.hb,
      misses: 3,
      paused: () => this.state !== 'reading' || !this.nc.isConnected,
      onIdle: () => void this.reset(),
    });
    this.statusIter = this.nc.status();
    void this.watchStatus();
  }

  private get nc(): NatsConnection {
    return this.api.nc;
  }

  /** How many times the consumer was recreated. */
  get resets(): number {
    return this.resetCount;
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
    if (this.state === 'stopped') return;
    this.lastSseq = seq;
    // Whatever a consumer delivers from now on, even one still being created, is unwanted.
    this.drop();
    void this.reset(false);
  }

  /** Stops reading and deletes the current consumer (best effort). */
  stop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.monitor.stop();
    void this.statusIter.return?.();
    this.drop();
    this.queue.end();
    this.resolveClosed();
  }

  /** Yields the messages in order until stopped; a `break` out of the loop stops it too. */
  [Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    const refused = this.callback
      ? new TypeError('an ordered consumer with a callback cannot be iterated')
      : undefined;
    return this.queue.read({
      refused,
      taken: (item) => {
        if (typeof item !== 'string') return true;
        this.answerFc(item);
        return false;
      },
      // Nobody reads any more: delete the consumer rather than let it fill a queue.
      exit: () => this.stop(),
    }) as AsyncGenerator<JsMsg>;
  }

  private async create(): Promise<void> {
    const gen = ++this.gen;
    const inbox = this.nc.newInbox();
    this.expected = 1;
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
      deliverPolicy: o.deliverPolicy ?? 'all',
      optStartSeq: o.optStartSeq,
      optStartTime: o.optStartTime,
    };
    if (this.lastSseq > 0) {
      config.deliverPolicy = 'by_start_sequence';
      config.optStartSeq = this.lastSseq + 1;
      config.optStartTime = undefined;
    }
    this.phase = config.deliverPolicy === 'last_per_subject' ? 'snapshot' : 'live';
    this.createdNanos = 0n;
    // Known from the INFO of the server this incarnation is created through (a reconnect,
    // possibly to another release, creates a new one).
    this.purgeMaySkip = !serverAtLeast(this.nc, PURGE_SKIP_FIXED_IN);
    this.monitor.alive();
    try {
      const info = await this.admin.add(this.stream, config);
      // Stopped or replaced while it was being created: it must not outlive us.
      if (gen === this.gen && this.state !== 'stopped') {
        this.consumer = info.name;
        this.createdNanos = rfc3339Nanos(info.created) ?? 0n;
        if (info.numPending === 0) this.phase = 'live'; // no snapshot to deliver
      } else this.admin.delete(this.stream, info.name).catch(() => undefined);
    } catch (err) {
      this.sub.unsubscribe();
      throw err;
    }
  }

  private onMsg(gen: number, msg: Msg): void {
    if (gen !== this.gen || this.state === 'stopped') return;
    this.monitor.alive();
    if (isJsMsg(msg)) {
      const jm = new JsMsg(msg, this.nc);
      const meta = jm.metadata;
      // A consumer reset (nats-server 2.14) sends delivery back to its consumer sequence 1 and
      // an earlier stream sequence; otherwise stream sequences only grow. Either is a gap.
      if (meta.sequence.consumer !== this.expected || meta.sequence.stream <= this.lastSseq)
        return void this.reset();
      if (this.mayFollowSkip(jm)) return void this.reset(false);
      this.expected++;
      this.lastSseq = meta.sequence.stream;
      this.lastStamp = meta.timestampNanos;
      if (meta.numPending === 0) this.phase = 'live'; // a snapshot is over
      return this.deliver(jm);
    }
    const h = msg.headers;
    if (h === undefined) return;
    if (h.status === 100) {
      const stalled = h.get('Nats-Consumer-Stalled');
      if (stalled) void this.nc.publish(stalled);
      const last = Number(h.get('Nats-Last-Consumer') ?? NaN);
      if (Number.isFinite(last) && last > this.expected - 1) return void this.reset();
      if (msg.reply) {
        if (this.callback) this.answerFc(msg.reply);
        else this.queue.push(msg.reply);
      }
    } else if (h.status === 409 && /consumer deleted/i.test(h.description)) void this.reset();
  }

  /**
   * nats-server 2.9 moves every consumer whose filter covers a purged subject up to that
   * subject's first remaining message, skipping what it had not delivered yet on any subject.
   * After a rollup (KV purge, object metadata write) that message is the rollup itself, so a
   * rollup that follows a gap in stream sequences may have skipped messages: it is read again
   * from a consumer started right after the last message seen, once, which delivers whatever
   * was skipped first. A rollup stored well before this consumer was created (replaying
   * history) cannot have moved it. Filtered stream purges without a rollup are not caught.
   * Servers from 2.10 on do not skip, and there this costs nothing (no re-read, no reset).
   */
  private mayFollowSkip(jm: JsMsg): boolean {
    if (!this.purgeMaySkip) return false;
    const { sequence, timestampNanos } = jm.metadata;
    const seq = sequence.stream;
    if (this.phase === 'snapshot' || this.lastSseq === 0 || seq <= this.lastSseq + 1) return false;
    if (seq === this.rereadRollup || timestampNanos + CLOCK_SKEW_NS < this.createdNanos)
      return false;
    if (jm.headers?.get('Nats-Rollup') === undefined) return false;
    this.rereadRollup = seq;
    return true;
  }

  private deliver(msg: JsMsg): void {
    if (this.callback) this.callback.run(msg);
    // A queued message must not pin its whole socket read chunk.
    else if (this.queue.push(msg)) msg.msg.detach();
  }

  // Flow control is answered once per subject, when it reaches the head of the queue.
  private answerFc(subject: string): void {
    if (subject === this.lastFc || this.state === 'stopped') return;
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
    if (this.state === 'stopped') return;
    if (this.state === 'recreating') {
      if (mayBeRecreated) this.nextReset = 'check-stream';
      else if (this.nextReset === 'none') this.nextReset = 'same-stream';
      return;
    }
    this.state = 'recreating';
    for (let check = mayBeRecreated; this.isRecreating();) {
      this.resetCount++;
      this.drop();
      await this.recreate(check);
      if (this.nextReset === 'none') break;
      check = this.nextReset === 'check-stream';
      this.nextReset = 'none';
    }
    if (this.isRecreating()) this.state = 'reading';
  }

  // A method, so the checks after an await are not narrowed away by the compiler.
  private isRecreating(): boolean {
    return this.state === 'recreating';
  }

  private async recreate(checkStream: boolean): Promise<void> {
    for (let wait = 500; this.isRecreating(); wait = Math.min(wait * 2, MAX_BACKOFF_MS)) {
      try {
        if (checkStream && (await this.streamRecreated())) {
          this.lastSseq = 0;
          this.rereadRollup = 0;
        }
        await this.create();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }

  /**
   * True when the stream was created after the last message we saw was stored: it was deleted
   * and made again, its sequences start over, and resuming after our last sequence would skip
   * the new stream's first messages. Then we start over with the configured deliver policy.
   * Unknown (no permission to read stream info, stream still missing) counts as false.
   */
  private async streamRecreated(): Promise<boolean> {
    if (this.lastSseq === 0) return false;
    try {
      const info = await new StreamsApi(this.api).info(this.stream);
      const created = rfc3339Nanos(info.created);
      return created !== undefined && created > this.lastStamp;
    } catch {
      return false;
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
      if (this.state === 'stopped') return;
      if (s.type === 'reconnect') void this.reset();
      else if (s.type === 'close') return this.stop();
    }
  }
}

const msgSubject = (msg: JsMsg): string => msg.subject;

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits. */
function rfc3339Nanos(text: string): bigint | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(.*)$/.exec(text);
  const ms = m ? Date.parse(m[1] + m[3]) : NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
