import { checkDelay } from '../core/delays.js';
import {
  CallbackError,
  InvalidOptionError,
  JetStreamApiError,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '../core/index.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import { msgSize, pullRequest, pullStatus, statusError, type PullStatus } from './pull-status.js';

/** Options of `consume()`. */
export interface ConsumeOptions {
  /**
   * Messages buffered ahead of the reader (the prefetch bound).
   * @default 100, or 1,000,000 when `maxBytes` bounds the prefetch instead
   */
  maxMessages?: number;
  /**
   * Bytes buffered ahead of the reader (subject, reply, headers and payload, as the server
   * counts them). A message larger than this can never be delivered: consuming then stops with
   * `MessageTooLargeError`.
   */
  maxBytes?: number;
  /** Lifetime of each pull request in milliseconds. @default 30000 */
  expires?: number;
  /** Idle heartbeat asked of the server, ms. @default expires / 2, clamped to 500..30000 */
  idleHeartbeat?: number;
  /** Called with each message; without it, iterate with `for await`. */
  callback?: (msg: JsMsg) => unknown;
  /**
   * Sends an in-progress ack this often (ms) for every message waiting in the buffer, so a slow
   * reader does not get buffered messages redelivered (and handled twice) past the ack wait.
   */
  keepBufferedAlive?: number;
}

/**
 * A continuous pull: one inbox subscription shared by every pull request; a new pull is sent
 * when what is outstanding plus what is buffered falls to half of `maxMessages`. Heartbeats and
 * 404/408/409 statuses are handled here and never reach the reader; a leader change of a
 * clustered consumer (409 Leadership Change), missed heartbeats and reconnects re-issue the pull.
 */
export class ConsumerMessages implements AsyncIterable<JsMsg> {
  /** Resolves when consuming ends: undefined after `stop()`, or the terminal error. */
  readonly closed: Promise<Error | undefined>;
  /** How many times missed heartbeats caused a re-pull. */
  missedHeartbeats = 0;
  private resolveClosed!: (err: Error | undefined) => void;
  private readonly max: number;
  private readonly threshold: number;
  // The byte bound (0: none) and its accounting, like `pending` and the queue for messages.
  private readonly maxBytes: number;
  private queuedBytes = 0;
  private readonly sizes: number[] = [];
  // A message did not fit the budget left: pull again only with the whole budget.
  private needWholeBudget = false;
  private aliveTimer: NodeJS.Timeout | undefined;
  // Largest pull the consumer accepts (learned from a 409 Exceeded MaxRequestBatch).
  private batchLimit = Infinity;
  // Limit warnings already reported, by description.
  private readonly warned = new Set<string>();
  private readonly expires: number;
  private readonly hb: number;
  private readonly sub: Subscription;
  // Every pull gets its own reply `<inbox>.<n>`, all under one wildcard subscription.
  private readonly inbox: string;
  private pullCount = 0;
  private readonly callback: ((msg: JsMsg) => unknown) | undefined;
  private queue: JsMsg[] = [];
  // What each outstanding pull may still deliver, by its reply subject, in the order the server
  // serves them: a status (on the pull's own subject) ends only the pull it answers, and a pull
  // is alive while it hears from the server (`seen`).
  private readonly pulls = new Map<string, Pull>();
  private stopped = false;
  private error: Error | undefined;
  private paused = false;
  private lastSeen = Date.now();
  private waiter: (() => void) | undefined;
  private readonly hbTimer: NodeJS.Timeout;
  private readonly statusIter: AsyncIterableIterator<Status>;

  /**
   * `probe` asks the server whether the consumer still exists, resolving the error that says it
   * is gone: a pull for a missing consumer is never answered, so without it a consumer lost in a
   * restart would be waited for forever.
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    opts: ConsumeOptions = {},
    private readonly probe?: () => Promise<Error | undefined>,
  ) {
    this.maxBytes = opts.maxBytes ?? 0;
    if (opts.maxBytes !== undefined && (!Number.isInteger(this.maxBytes) || this.maxBytes < 1))
      throw new InvalidOptionError('maxBytes must be a positive integer');
    this.max = opts.maxMessages ?? (this.maxBytes > 0 ? 1_000_000 : 100);
    if (!Number.isInteger(this.max) || this.max < 1)
      throw new InvalidOptionError('maxMessages must be a positive integer');
    this.threshold = Math.floor(this.max / 2);
    if (opts.expires !== undefined) checkDelay(opts.expires, 'consume expires', 1);
    if (opts.idleHeartbeat !== undefined) checkDelay(opts.idleHeartbeat, 'idleHeartbeat', 1);
    this.expires = Math.max(opts.expires ?? 30_000, 1000);
    this.hb = opts.idleHeartbeat ?? Math.min(Math.max(this.expires / 2, 500), 30_000);
    if (this.hb * 2 > this.expires)
      throw new InvalidOptionError('idleHeartbeat must be at most half of expires');
    this.callback = opts.callback;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    // Followers of a clustered consumer remember waiting pulls by reply subject (to end them with
    // 409 Leadership Change when the leader moves) and forget the subject when any pull on it
    // completes: with one reply for all pulls, the others would be dropped silently and consuming
    // would stall until the heartbeat monitor noticed.
    this.inbox = nc.newInbox();
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (m) => this.onMsg(m) });
    void this.sub.closed.then(() => this.stop());
    this.hbTimer = setInterval(() => this.checkHeartbeat(), this.hb).unref();
    if (opts.keepBufferedAlive !== undefined) {
      checkDelay(opts.keepBufferedAlive, 'keepBufferedAlive', 1);
      this.aliveTimer = setInterval(() => this.keepAlive(), opts.keepBufferedAlive).unref();
    }
    this.statusIter = nc.status();
    void this.watchStatus();
    this.refill();
  }

  /**
   * Naks every buffered, unread message so the server delivers it again at once (to another
   * reader), instead of after its ack wait; the buffer is empty afterwards.
   */
  handBack(): void {
    const unread = this.queue;
    this.queue = [];
    this.sizes.length = 0;
    this.queuedBytes = 0;
    for (const msg of unread) {
      try {
        msg.nak();
      } catch {
        // The connection is closing: the ack wait will bring it back.
      }
    }
  }

  private keepAlive(): void {
    for (const msg of this.queue) {
      try {
        msg.inProgress();
      } catch {
        return; // the connection is closing
      }
    }
  }

  /** Messages received but not yet read. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Stops pulling; the iterator ends and unread buffered messages are dropped (unacked). */
  stop(err?: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.error = err;
    clearInterval(this.hbTimer);
    clearInterval(this.aliveTimer);
    this.sub.unsubscribe();
    void this.statusIter.return?.();
    this.queue = [];
    this.sizes.length = 0;
    this.queuedBytes = 0;
    this.wake();
    this.resolveClosed(err);
  }

  /** Yields the messages until stopped; a `break` out of the loop stops it too. */
  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    if (this.callback) throw new TypeError('a consume() with a callback cannot be iterated');
    try {
      for (;;) {
        const msg = this.queue.shift();
        if (msg !== undefined) {
          if (this.maxBytes > 0) this.queuedBytes -= this.sizes.shift() ?? 0;
          this.refill();
          yield msg;
          continue;
        }
        if (this.stopped) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    } finally {
      // Nobody reads any more: stop pulling, or new messages would sit here unacked.
      this.stop();
    }
  }

  private onMsg(msg: Msg): void {
    if (this.stopped) return;
    this.lastSeen = Date.now();
    if (isJsMsg(msg)) {
      const jm = new JsMsg(msg, this.nc);
      const size = this.maxBytes > 0 ? msgSize(msg) : 0;
      this.countDelivery(size);
      if (this.callback) this.runCallback(jm);
      else {
        if (size > 0) {
          this.sizes.push(size);
          this.queuedBytes += size;
        }
        msg.detach(); // a queued message must not pin its whole socket read chunk
        this.queue.push(jm);
        this.wake();
      }
      this.refill();
      return;
    }
    const status = pullStatus(msg);
    if (status?.code === 100) {
      const pull = this.pulls.get(msg.subject);
      if (pull !== undefined) pull.seen = this.lastSeen;
    }
    if (status === undefined || status.code === 100) return;
    // 503 (no responders) comes during an election, and from 2.10 on also for a pull on a
    // consumer that is gone (2.9 stays silent): keep pulling, but ask which it is.
    if (status.terminal && status.code !== 503) return this.stop(statusError(status));
    if (status.code === 503) this.verify();
    if (status.code === 409 && /exceeds maxbytes/i.test(status.description)) {
      // Not even a whole, unused budget could take it: it can never be delivered.
      if (status.pendingBytes >= this.maxBytes)
        return this.stop(new MessageTooLargeError(this.maxBytes));
      this.needWholeBudget = true;
    }
    if (status.warning) this.warn(status);
    // Any status but a heartbeat ends the pull it answers (expired, refused, leader moved...);
    // the others go on, so they stay counted.
    this.pulls.delete(msg.subject);
    if (status.pendingMsgs > 0) return this.refill();
    // Pull again after a pause for the 409 warnings (max waiting, request limits) and 503s, so
    // they cannot spin.
    if ((status.code !== 409 || status.maxBatch !== undefined) && status.code !== 503)
      return this.refill();
    setTimeout(() => this.refill(), 1000).unref();
  }

  /**
   * A message carries the stream's subject, not the reply of the pull it answers: it is counted
   * against the pull the server serves next. The server serves its waiting pulls round-robin
   * (each delivery moves that pull to the back of the queue; nats-server `waitQueue.pop`), and
   * ours reach it in the order they were sent, so the same rotation over our pulls, in sending
   * order, follows it. While messages flow the server sends no heartbeats: every pull is alive.
   */
  private countDelivery(size: number): void {
    for (const pull of this.pulls.values()) pull.seen = this.lastSeen;
    const first = this.pulls.entries().next();
    if (first.done) return;
    const [reply, pull] = first.value;
    this.pulls.delete(reply);
    pull.msgs--;
    pull.bytes = Math.max(0, pull.bytes - size);
    // A pull with a byte budget ends once the budget is spent, like on the server.
    const spent = this.maxBytes > 0 && pull.bytes === 0;
    if (pull.msgs > 0 && !spent) this.pulls.set(reply, pull);
  }

  /**
   * A pull refused for breaking a consumer limit: reported through `onError` (once per kind),
   * and a batch limit is obeyed from now on, so consuming goes on with smaller pulls.
   */
  private warn(status: PullStatus): void {
    if (status.maxBatch !== undefined && status.maxBatch > 0) {
      this.batchLimit = Math.min(this.batchLimit, status.maxBatch);
    }
    if (this.warned.has(status.description)) return;
    this.warned.add(status.description);
    this.nc.reportError(statusError(status));
  }

  private runCallback(msg: JsMsg): void {
    try {
      const r = this.callback!(msg);
      if (r instanceof Promise) r.catch((e: unknown) => this.callbackFailed(e));
    } catch (e) {
      this.callbackFailed(e);
    }
  }

  private callbackFailed(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.nc.reportError(new CallbackError(this.subject, err));
  }

  /** Messages the outstanding pulls may still deliver. */
  private get pending(): number {
    let n = 0;
    for (const p of this.pulls.values()) n += p.msgs;
    return n;
  }

  /** Bytes of the budget the outstanding pulls may still fill. */
  private get pendingBytes(): number {
    let n = 0;
    for (const p of this.pulls.values()) n += p.bytes;
    return n;
  }

  private refill(): void {
    if (this.stopped || this.paused) return;
    const pending = this.pending;
    const want = Math.min(this.max - pending - this.queue.length, this.batchLimit);
    if (pending + this.queue.length > this.threshold || want <= 0) return;
    let wantBytes: number | undefined;
    if (this.maxBytes > 0) {
      const used = this.pendingBytes + this.queuedBytes;
      if (used > this.maxBytes / 2 || (this.needWholeBudget && used > 0)) return;
      this.needWholeBudget = false;
      wantBytes = this.maxBytes - used;
    }
    const reply = `${this.inbox}.${++this.pullCount}`;
    this.pulls.set(reply, { msgs: want, bytes: wantBytes ?? 0, seen: Date.now() });
    try {
      const body = JSON.stringify(pullRequest(want, this.expires, wantBytes, this.hb));
      void this.nc.publish(this.subject, body, { reply });
    } catch (err) {
      this.stop(err as Error);
    }
  }

  private checkHeartbeat(): void {
    if (this.stopped || this.paused) return;
    // A pull that missed two heartbeats is gone (server restart, lost status, or a refusal that
    // 2.11+ leaves unanswered): account it as ended and pull again; the live ones stay counted.
    const now = Date.now();
    let missed = false;
    for (const [reply, pull] of this.pulls) {
      if (now - pull.seen <= 2 * this.hb) continue;
      this.pulls.delete(reply);
      missed = true;
    }
    if (!missed) return;
    this.missedHeartbeats++;
    this.refill();
    this.verify();
  }

  /** Counts every pull request as ended (the server forgot them: restart, reconnect). */
  private forgetPulls(): void {
    this.pulls.clear();
  }

  /** Stops with the probe's error when the consumer (or its stream) is gone. */
  private verify(): void {
    void this.probe?.().then((gone) => {
      if (gone) this.stop(gone);
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.statusIter) {
      if (this.stopped) return;
      if (s.type === 'disconnect') this.paused = true;
      else if (s.type === 'reconnect') {
        this.paused = false;
        this.lastSeen = Date.now();
        this.forgetPulls();
        this.refill();
        this.verify();
      } else if (s.type === 'close') return this.stop();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** An outstanding pull request: what it may still deliver, and when it was last heard of. */
interface Pull {
  msgs: number;
  bytes: number;
  seen: number;
}

/** `consume({ maxBytes })` met a message larger than its whole byte budget (status 409). */
export class MessageTooLargeError extends JetStreamApiError {
  constructor(readonly maxBytes: number) {
    super(
      `a message is larger than consume() maxBytes (${maxBytes} bytes); raise maxBytes to read it`,
      0,
      409,
      'MESSAGE_TOO_LARGE',
    );
  }
}
