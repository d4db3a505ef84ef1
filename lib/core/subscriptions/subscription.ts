import { CallbackRunner } from '../async/callback-runner.js';
import { MsgQueue } from '../async/queue.js';
import { checkDelay } from '../delays.js';
import { InFlight } from '../in-flight.js';
import {
  InvalidOperationError,
  InvalidOptionError,
  SlowConsumerError,
  TimeoutError,
  type NatsError,
} from '../errors.js';
import { CopyArena } from '../messages/copy-arena.js';
import type { Msg } from '../messages/msg.js';
import type { ConnectionTelemetry } from '../telemetry/slot.js';

/** Default pending message limit of a core subscription. */
export const DEFAULT_SUB_PENDING_MSGS_LIMIT = 512 * 1024;
/** Default pending byte limit of a core subscription (128 MiB). */
export const DEFAULT_SUB_PENDING_BYTES_LIMIT = 128 * 1024 * 1024;

/** Options of `nc.subscribe()`. */
export interface SubscriptionOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
  /** Called with each message; without it, read with `for await` or `nextMsg()`. */
  callback?: (msg: Msg) => unknown;
  /** Unsubscribe automatically after this many messages (enforced by the server too). */
  max?: number;
  /** Messages held unread before new ones are dropped; -1 for no limit. @default 524288 */
  pendingMsgsLimit?: number;
  /** Bytes held unread before new messages are dropped; -1 for no limit. @default 128 MiB */
  pendingBytesLimit?: number;
}

/** What a subscription needs from its connection. */
export interface SubscriptionHost {
  unsubscribe(sub: Subscription, max?: number): void;
  drainSubscription(sub: Subscription): Promise<void>;
  reportError(err: NatsError): void;
  /** Async callbacks of every subscription still running. */
  readonly callbacks: InFlight;
  /** The connection's telemetry (its `hooks` null while off). */
  readonly telemetry?: ConnectionTelemetry | null;
}

/**
 * A subscription: either a callback, called for each message as it is parsed, or a queue read
 * with `for await` / `nextMsg()`. A callback that throws (or rejects) is reported through
 * `onError` and keeps receiving; a reader that falls behind its pending limits loses new
 * messages (counted in `dropped`) and is reported as a slow consumer, once per episode.
 */
export class Subscription implements AsyncIterable<Msg> {
  /** The queue group, or undefined for a plain subscription. */
  readonly queue: string | undefined;
  // Read-only to users through getters: after a reconnect the connection resends
  // `max - delivered` as the remaining auto-unsubscribe count, so a user write would corrupt it.
  private deliveredCount = 0;
  private droppedCount = 0;
  private maxMsgs: number;
  // Unread messages and their payload bytes; readers (nextMsg calls, iterators) served in order.
  private readonly unread = new MsgQueue<Msg>(true);
  private readonly arena = new CopyArena();
  private slow = false;
  private closedFlag = false;
  private closeError: Error | undefined;
  // Callbacks whose promise has not settled yet (a service stopping waits for them).
  private readonly running = new InFlight();
  private draining = false;
  private resolveClosed!: (err?: Error) => void;
  /** Resolves when the subscription ends (unsubscribed, drained, limit reached, connection closed). */
  readonly closed: Promise<Error | undefined>;
  private readonly callback: CallbackRunner<Msg> | undefined;
  // Null for iterated subscriptions and for inboxes and system subjects: never traced.
  private readonly tel: ConnectionTelemetry | null;
  private readonly msgsLimit: number;
  private readonly bytesLimit: number;

  /** @internal Created by `nc.subscribe()`. */
  constructor(
    private readonly host: SubscriptionHost,
    /** The subscription's id on the connection. */
    readonly sid: number,
    /** The subject subscribed to (wildcards allowed). */
    readonly subject: string,
    opts: SubscriptionOptions,
  ) {
    this.queue = opts.queue;
    this.callback = opts.callback && new CallbackRunner(opts.callback, host, subject);
    const tel = host.telemetry ?? null;
    this.tel = this.callback !== undefined && tel !== null && tel.traces(subject) ? tel : null;
    this.maxMsgs = opts.max ?? 0;
    this.msgsLimit = limit(opts.pendingMsgsLimit, DEFAULT_SUB_PENDING_MSGS_LIMIT);
    this.bytesLimit = limit(opts.pendingBytesLimit, DEFAULT_SUB_PENDING_BYTES_LIMIT);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve as (err?: Error) => void));
  }

  /** Messages received from the server (including dropped ones). */
  get delivered(): number {
    return this.deliveredCount;
  }

  /** Messages dropped because the pending limits were exceeded. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The auto-unsubscribe limit, 0 for none. */
  get max(): number {
    return this.maxMsgs;
  }

  /** Messages received and not read yet. */
  get pendingMsgs(): number {
    return this.unread.length;
  }

  /** Payload bytes of the messages received and not read yet. */
  get pendingBytes(): number {
    return this.unread.bytes;
  }

  /** True once the subscription has ended. */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** True while `drain()` runs. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** True when the server has delivered everything the auto-unsubscribe limit allows. */
  get limitReached(): boolean {
    return this.maxMsgs > 0 && this.deliveredCount >= this.maxMsgs;
  }

  /** Called by the connection for every message on this sid. Never throws. */
  deliver(msg: Msg): void {
    if (this.closedFlag || this.limitReached) return;
    this.deliveredCount++;
    const callback = this.callback;
    if (callback !== undefined) {
      const tel = this.tel;
      const running =
        tel === null || tel.hooks === null
          ? callback.run(msg)
          : tel.deliver(this.subject, this.queue, msg, (span) => callback.run(msg, span));
      if (running !== undefined) this.track(running);
    } else {
      const q = this.unread;
      if (q.hasWaiter) q.push(msg);
      else if (q.length >= this.msgsLimit || q.bytes + msg.data.length > this.bytesLimit) {
        this.droppedCount++;
        if (!this.slow) {
          this.slow = true;
          this.host.reportError(new SlowConsumerError(this.subject, this.sid, q.length, q.bytes));
        }
      } else {
        msg.detach(this.arena);
        q.push(msg, msg.data.length);
      }
    }
    if (this.limitReached) this.host.unsubscribe(this);
  }

  /**
   * The next message, waiting up to `timeout` ms. Rejects with `TimeoutError`, or once the
   * subscription has ended and nothing is left, with the error that ended it (a
   * `TimeoutError` when it ended without one). Concurrent calls are served in call order.
   */
  async nextMsg(timeout = 1000): Promise<Msg> {
    if (this.callback)
      throw new InvalidOperationError('nextMsg() is not available on a callback subscription');
    checkDelay(timeout, 'nextMsg timeout');
    const msg = this.take();
    if (msg !== undefined) return msg;
    if (this.closedFlag) throw this.endedError();
    return new Promise<Msg>((resolve, reject) => {
      // Woken without a message only when the subscription closes.
      const waiter = (m: Msg | null): void => {
        clearTimeout(timer);
        if (m === null) reject(this.endedError());
        else resolve(m);
      };
      const timer = setTimeout(() => {
        this.unread.unwait(waiter);
        reject(new TimeoutError(`no message on ${this.subject} within ${timeout} ms`));
      }, timeout);
      this.unread.wait(waiter);
    });
  }

  /** Iterates messages until the subscription closes and its queue is empty. */
  messages(): AsyncGenerator<Msg> {
    if (this.callback) return this.unread.read({ refused: callbackIterated() });
    return this.unread.read({
      // The slow-consumer episode ends when the queue is read empty.
      taken: (_msg, queued) => {
        if (queued && this.unread.length === 0) this.slow = false;
        return true;
      },
    });
  }

  /** Same as `messages()`: `for await (const msg of sub)`. */
  [Symbol.asyncIterator](): AsyncIterator<Msg> {
    return this.messages();
  }

  /**
   * Unsubscribes now, or after `limit` messages in total when given (a positive integer, else
   * `InvalidOptionError`).
   */
  unsubscribe(limit?: number): void {
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new InvalidOptionError(
        `unsubscribe limit must be a non-negative integer; got ${String(limit)}`,
      );
    }
    if (this.closedFlag) return;
    if (limit !== undefined && limit > 0) {
      this.maxMsgs = limit;
      if (!this.limitReached) {
        this.host.unsubscribe(this, limit);
        return;
      }
    }
    this.host.unsubscribe(this);
  }

  /**
   * Stops new deliveries, lets already received messages be read, then closes. It does not
   * wait for async callbacks still running (a callback may be the one awaiting this drain);
   * the connection's `drain()` does.
   */
  drain(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    this.draining = true;
    return this.host.drainSubscription(this);
  }

  /** Ends the subscription (called by the connection). Queued messages stay readable. */
  close(err?: Error): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closeError = err;
    this.unread.end();
    this.resolveClosed(err);
  }

  private endedError(): Error {
    return this.closeError ?? new TimeoutError(`subscription ${this.subject} is closed`);
  }

  private take(): Msg | undefined {
    const msg = this.unread.take();
    if (msg !== undefined && this.unread.length === 0) this.slow = false;
    return msg;
  }

  /** An async callback: a rejection is reported; the connection's drain() waits for it. */
  private track(settled: Promise<unknown>): void {
    this.running.track(settled);
    this.host.callbacks.track(settled);
  }

  /**
   * @internal Resolves true once no promise returned by the callback is pending, false after
   * `timeout` ms.
   */
  settle(timeout: number): Promise<boolean> {
    return this.running.settle(timeout);
  }
}

/** A subscription with a callback is read by its callback only. */
function callbackIterated(): InvalidOperationError {
  return new InvalidOperationError('a callback subscription cannot be iterated');
}

/** A pending limit as used: -1 (none) becomes Infinity. */
function limit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  return value === -1 ? Infinity : value;
}
