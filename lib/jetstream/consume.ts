import {
  CallbackRunner,
  CopyArena,
  IdleMonitor,
  MsgQueue,
  checkDelay,
  internalsOf,
  telemetryOf,
  type ConnectionTelemetry,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
  ErrorCode,
  InvalidOperationError,
  InvalidOptionError,
  JetStreamApiError,
} from '../core/internal.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import { PullLedger, type EndedPull } from './pull-ledger.js';
import { planPull } from './pull-plan.js';
import { priorityMembers, type Pin, type PullPriorityOptions } from './priority.js';
import { msgSize, pullRequest, pullStatus, statusError, type PullStatus } from './pull-status.js';
import { endReceive, receiveSpan, runCallback } from './telemetry.js';

// Within the 100..1000 that ADR-37 suggests; measured on 128 B messages acked in a callback.
const DEFAULT_MAX_MESSAGES = 500;

/** Options of `consume()`: with `group` and the other priority-group options on such consumers. */
export interface ConsumeOptions extends PullPriorityOptions {
  /**
   * Messages buffered ahead of the reader (the prefetch bound). The default keeps enough pulled
   * ahead that a fast reader seldom waits on the server's round trip; set it lower, or set
   * `maxBytes` instead, when messages are large.
   * @default 500, or 1,000,000 when `maxBytes` bounds the prefetch instead
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
  private resolveClosed!: (err: Error | undefined) => void;
  // Pulling; paused while disconnected (the server forgets our pulls); stopped for good.
  private state: 'pulling' | 'paused' | 'stopped' = 'pulling';
  private readonly max: number;
  private readonly threshold: number;
  // The byte bound (0: none); the queue then counts the bytes it holds.
  private readonly maxBytes: number;
  private readonly expires: number;
  private readonly hb: number;
  // A message did not fit the budget left: pull again only with the whole budget.
  private needWholeBudget = false;
  // Largest pull the consumer accepts (learned from a 409 Exceeded MaxRequestBatch).
  private batchLimit = Infinity;
  // Limit warnings already reported, by description.
  private readonly warned = new Set<string>();
  private readonly queue: MsgQueue<JsMsg>;
  private readonly arena = new CopyArena();
  private readonly pulls: PullLedger;
  private readonly monitor: IdleMonitor;
  private readonly aliveTimer: NodeJS.Timeout | undefined;
  private readonly sub: Subscription;
  // Every pull gets its own reply `<inbox>.<n>`, all under one wildcard subscription.
  private readonly inbox: string;
  private pullCount = 0;
  private readonly callback: CallbackRunner<JsMsg> | undefined;
  private readonly statusIter: AsyncIterableIterator<Status>;
  private readonly priority: PullPriorityOptions;
  private readonly tel: ConnectionTelemetry | undefined;

  /**
   * @internal Made by `PullConsumer.consume()`.
   * `probe` asks the server whether the consumer still exists, resolving the error that says it
   * is gone: a pull for a missing consumer is never answered, so without it a consumer lost in a
   * restart would be waited for forever. `pin` (a `pinned_client` consumer): every pull carries
   * the pin id held; a 423 drops it and consuming goes on as a standby. `pattern` names the
   * `process` spans of the callback (the consumer's filter subject, or its stream).
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    opts: ConsumeOptions = {},
    private readonly probe?: () => Promise<Error | undefined>,
    private readonly pin?: Pin,
    private readonly pattern = subject,
  ) {
    const { group, minPending, minAckPending, priority } = opts;
    this.priority = { group, minPending, minAckPending, priority };
    this.maxBytes = opts.maxBytes ?? 0;
    if (opts.maxBytes !== undefined && (!Number.isInteger(this.maxBytes) || this.maxBytes < 1))
      throw new InvalidOptionError('maxBytes must be a positive integer');
    this.max = opts.maxMessages ?? (this.maxBytes > 0 ? 1_000_000 : DEFAULT_MAX_MESSAGES);
    if (!Number.isInteger(this.max) || this.max < 1)
      throw new InvalidOptionError('maxMessages must be a positive integer');
    this.threshold = Math.floor(this.max / 2);
    if (opts.expires !== undefined) checkDelay(opts.expires, 'consume expires', 1);
    if (opts.idleHeartbeat !== undefined) checkDelay(opts.idleHeartbeat, 'idleHeartbeat', 1);
    this.expires = Math.max(opts.expires ?? 30_000, 1000);
    this.hb = opts.idleHeartbeat ?? Math.min(Math.max(this.expires / 2, 500), 30_000);
    if (this.hb * 2 > this.expires)
      throw new InvalidOptionError('idleHeartbeat must be at most half of expires');
    if (opts.keepBufferedAlive !== undefined)
      checkDelay(opts.keepBufferedAlive, 'keepBufferedAlive', 1);
    this.callback = opts.callback && new CallbackRunner(opts.callback, internalsOf(nc), subject);
    this.queue = new MsgQueue<JsMsg>(this.maxBytes > 0);
    this.tel = telemetryOf(nc);
    this.pulls = new PullLedger(this.maxBytes > 0, this.tel && ((pull) => this.pullEnded(pull)));
    this.closed = new Promise((r) => (this.resolveClosed = r));
    // Followers of a clustered consumer remember waiting pulls by reply subject (to end them with
    // 409 Leadership Change when the leader moves) and forget the subject when any pull on it
    // completes: with one reply for all pulls, the others would be dropped silently and consuming
    // would stall until the heartbeat monitor noticed.
    this.inbox = nc.newInbox();
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (m) => this.onMsg(m) });
    void this.sub.closed.then(() => this.stop());
    this.monitor = new IdleMonitor({
      interval: this.hb,
      misses: 1,
      paused: () => this.state !== 'pulling',
      onAlive: () => this.pulls.allAlive(),
      onIdle: () => this.heartbeatsMissed(),
    });
    if (opts.keepBufferedAlive !== undefined)
      this.aliveTimer = setInterval(() => this.keepAlive(), opts.keepBufferedAlive).unref();
    this.statusIter = nc.status();
    void this.watchStatus();
    this.refill();
  }

  /** How many times missed heartbeats caused a re-pull. */
  get missedHeartbeats(): number {
    return this.monitor.missed;
  }

  /** Messages received but not yet read. */
  get buffered(): number {
    return this.queue.length;
  }

  /**
   * Naks every buffered, unread message so the server delivers it again at once (to another
   * reader), instead of after its ack wait; the buffer is empty afterwards.
   */
  handBack(): void {
    for (const msg of this.queue.clear()) {
      try {
        msg.nak();
      } catch {
        // The connection is closing: the ack wait will bring it back.
      }
    }
  }

  private keepAlive(): void {
    this.queue.forEach((msg) => {
      try {
        msg.inProgress();
        return true;
      } catch {
        return false; // the connection is closing
      }
    });
  }

  /** Stops pulling; the iterator ends and unread buffered messages are dropped (unacked). */
  stop(err?: Error): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.monitor.stop();
    clearInterval(this.aliveTimer);
    this.sub.unsubscribe();
    void this.statusIter.return?.();
    this.pulls.clear();
    this.queue.clear();
    this.queue.end(err);
    this.resolveClosed(err);
  }

  /** Yields the messages until stopped; a `break` out of the loop stops it too. */
  [Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    if (this.callback)
      return this.queue.read({
        refused: new InvalidOperationError('a consume() with a callback cannot be iterated'),
      });
    return this.queue.read({
      taken: () => {
        this.refill();
        return true;
      },
      // Nobody reads any more: stop pulling, or new messages would sit here unacked.
      exit: () => this.stop(),
    });
  }

  private onMsg(msg: Msg): void {
    if (this.state === 'stopped') return;
    if (isJsMsg(msg)) {
      // While messages flow the server sends no heartbeats: every pull is alive.
      this.monitor.alive();
      this.pin?.observe(msg);
      const jm = new JsMsg(msg, this.nc);
      const size = this.maxBytes > 0 ? msgSize(msg) : 0;
      this.pulls.delivered(size);
      // The runner reports a failed callback itself; delivery does not wait for an async one.
      if (this.callback) {
        if (this.tel?.hooks) void runCallback(this.tel, this.callback, jm, this.pattern, true);
        else void this.callback.run(jm);
      }
      // A queued message must not pin its whole socket read chunk.
      else if (this.queue.push(jm, size)) msg.detach(this.arena);
      this.refill();
      return;
    }
    const status = pullStatus(msg);
    if (status?.code === 100) this.pulls.heard(msg.subject);
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
    // Another client holds the pin: pull on without one, as a standby.
    if (status.pinMismatch) this.pin?.drop();
    // Any status but a heartbeat ends the pull it answers (expired, refused, leader moved...);
    // the others go on, so they stay counted.
    this.pulls.end(msg.subject);
    if (status.pendingMsgs > 0) return this.refill();
    // Pull again after a pause for the 409 warnings (max waiting, request limits) and 503s, so
    // they cannot spin.
    if ((status.code !== 409 || status.maxBatch !== undefined) && status.code !== 503)
      return this.refill();
    setTimeout(() => this.refill(), 1000).unref();
  }

  /**
   * A pull is over (filled, expired, refused, forgotten): while telemetry is on, one that brought
   * messages gets its CLIENT `receive {stream}` span, from when it was sent. Empty pulls get
   * none: an idle consumer would otherwise make a trace every `expires`.
   */
  private pullEnded(pull: EndedPull): void {
    if (pull.received === 0) return;
    const span = receiveSpan(this.tel, this.subject, pull.batch, pull.sent);
    if (span !== undefined) endReceive(span, pull.received);
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
    internalsOf(this.nc).reportError(statusError(status));
  }

  private refill(): void {
    if (this.state !== 'pulling') return;
    const msgs = this.pulls.msgs + this.queue.length;
    if (msgs > this.threshold) return; // the common case, on every message
    const plan = planPull({
      max: this.max,
      threshold: this.threshold,
      batchLimit: this.batchLimit,
      maxBytes: this.maxBytes,
      msgs,
      bytes: this.maxBytes > 0 ? this.pulls.bytes + this.queue.bytes : 0,
      needWholeBudget: this.needWholeBudget,
    });
    if (plan === undefined) return;
    this.needWholeBudget = false;
    const reply = `${this.inbox}.${++this.pullCount}`;
    this.pulls.add(reply, plan.batch, plan.bytes);
    try {
      const bytes = plan.bytes > 0 ? plan.bytes : undefined;
      const priority = priorityMembers(this.priority, this.pin?.id);
      const body = JSON.stringify(pullRequest(plan.batch, this.expires, bytes, this.hb, priority));
      void this.nc.publish(this.subject, body, { reply });
    } catch (err) {
      this.stop(err as Error);
    }
  }

  /**
   * A heartbeat check heard nothing. A pull that missed two heartbeats is gone (server restart,
   * lost status, or a refusal that 2.11+ leaves unanswered): it is accounted as ended and pulled
   * again; the live ones stay counted.
   */
  private heartbeatsMissed(): boolean {
    if (!this.pulls.expire()) return false;
    this.refill();
    this.verify();
    return true;
  }

  /** Stops with the probe's error when the consumer (or its stream) is gone. */
  private verify(): void {
    void this.probe?.().then((gone) => {
      if (gone) this.stop(gone);
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.statusIter) {
      if (this.state === 'stopped') return;
      if (s.type === 'disconnect') this.state = 'paused';
      else if (s.type === 'reconnect') {
        this.state = 'pulling';
        this.monitor.alive();
        this.pulls.clear();
        this.refill();
        this.verify();
      } else if (s.type === 'close') return this.stop();
    }
  }
}

/** `consume({ maxBytes })` met a message larger than its whole byte budget (status 409). */
export class MessageTooLargeError extends JetStreamApiError {
  constructor(
    /** The `maxBytes` of the `consume()` that could not read the message. */
    readonly maxBytes: number,
  ) {
    super(
      `a message is larger than consume() maxBytes (${maxBytes} bytes); raise maxBytes to read it`,
      0,
      409,
      ErrorCode.MESSAGE_TOO_LARGE,
    );
  }
}
