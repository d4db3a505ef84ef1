import { NoRespondersError, TimeoutError, type NatsError } from '../errors.js';
import { ServiceError, SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../service-error.js';
import type { Msg } from '../messages/msg.js';
import { DeadlineQueue, type Deadlined } from './deadline-queue.js';

interface PendingRequest extends Deadlined {
  resolve: (msg: Msg) => void;
  reject: (err: Error) => void;
  readonly subject: string;
  readonly timeout: number;
  /** The request's number; its reply subject ends with it in base 36. */
  readonly id: number;
}

// A settled entry can wait in its deadline queue a while: it must not keep its promise alive.
const settledAlready = (): void => {};

/** Settles a request taken from the inbox and lets go of its promise. */
function settle(entry: PendingRequest, outcome: Msg | Error): void {
  const { resolve, reject } = entry;
  entry.resolve = entry.reject = settledAlready;
  if (outcome instanceof Error) reject(outcome);
  else resolve(outcome);
}

/**
 * The request multiplexer: every request shares one wildcard subscription `<prefix>.<nuid>.*`
 * and is told apart by the last token of its reply subject, so a request costs one publish and
 * no SUB/UNSUB round trips.
 *
 * Timeouts share one timer instead of one per request (a timer costs more than the rest of the
 * bookkeeping). Requests are also kept per timeout value: within one value, insertion order is
 * deadline order, so a sweep looks only at expired requests plus one head per value.
 */
export class MuxInbox {
  private readonly pending = new Map<number, PendingRequest>();
  private readonly byTimeout = new Map<number, DeadlineQueue<PendingRequest>>();
  private counter = 0;
  private idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /** @param prefix the reply prefix ending with '.', such as `_INBOX.abc.` */
  constructor(readonly prefix: string) {}

  get size(): number {
    return this.pending.size;
  }

  /** The subject the shared subscription listens on. */
  get subject(): string {
    return `${this.prefix}*`;
  }

  /** Resolves once no request is pending (used by drain, which answers them before leaving). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Registers a request; returns its reply subject and the promise of its answer. */
  register(subject: string, timeout: number): { reply: string; response: Promise<Msg> } {
    const id = this.counter++;
    const deadline = performance.now() + timeout;
    let entry!: PendingRequest;
    const response = new Promise<Msg>((resolve, reject) => {
      entry = { resolve, reject, subject, timeout, id, deadline, settled: false };
    });
    this.pending.set(id, entry);
    let group = this.byTimeout.get(timeout);
    if (group === undefined) this.byTimeout.set(timeout, (group = new DeadlineQueue()));
    group.push(entry);
    if (deadline < this.timerAt) this.arm(deadline);
    else this.timer?.ref();
    return { reply: this.prefix + id.toString(36), response };
  }

  /** Drops a registration whose publish failed. */
  cancel(reply: string, err: Error): void {
    const entry = this.take(idOf(reply, this.prefix.length));
    if (!entry) return;
    settle(entry, err);
    this.notifyIdle();
  }

  /** Routes a reply to its request; late or unknown replies are dropped. */
  dispatch(msg: Msg): void {
    const entry = this.take(idOf(msg.subject, this.prefix.length));
    if (entry === undefined) return;
    const err = replyError(msg, entry.subject);
    settle(entry, err ?? msg);
    this.notifyIdle();
  }

  /**
   * Fails the pending requests to `subject` (the server refused to let us publish there, so
   * none of them can be answered). Permissions are per connection, so all of them were refused.
   */
  failSubject(subject: string, err: NatsError): void {
    const failed: PendingRequest[] = [];
    for (const [id, entry] of this.pending) {
      if (entry.subject === subject) failed.push(this.take(id)!);
    }
    for (const entry of failed) settle(entry, err);
    if (failed.length > 0) this.notifyIdle();
  }

  /** Fails every pending request (the connection closed). */
  failAll(err: NatsError): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    this.byTimeout.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const entry of entries) settle(entry, err);
    this.notifyIdle();
  }

  private take(id: number): PendingRequest | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    entry.settled = true;
    const group = this.byTimeout.get(entry.timeout)!;
    group.settled();
    // A few empty queues stay for reuse (most callers use one or two timeouts).
    if (group.size === 0 && this.byTimeout.size > 8) this.byTimeout.delete(entry.timeout);
    return entry;
  }

  /** (Re)arms the shared timer for `at`; a timer left armed after its request ended just sweeps. */
  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    // +1: timers have millisecond resolution and must not fire before the deadline.
    this.timer = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(at - performance.now())) + 1);
  }

  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    const expired: PendingRequest[] = [];
    let next = Infinity;
    for (const group of this.byTimeout.values()) {
      for (let entry = group.first(); entry !== undefined; entry = group.first()) {
        if (entry.deadline > now) {
          next = Math.min(next, entry.deadline);
          break;
        }
        expired.push(this.take(entry.id)!);
      }
    }
    if (next !== Infinity) this.arm(next);
    for (const entry of expired) {
      settle(
        entry,
        new TimeoutError(`request to ${entry.subject} timed out after ${entry.timeout} ms`),
      );
    }
    if (expired.length > 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending.size > 0) return;
    // The timer left armed only sweeps an empty map: it must not keep the process alive.
    this.timer?.unref();
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The request number that a reply subject ends with (base 36, from `from` on), or -1 when the
 * rest is not one. Reads the subject in place: a reply costs no substring.
 */
export function idOf(subject: string, from: number): number {
  if (from >= subject.length || subject.length - from > 10) return -1;
  let id = 0;
  for (let i = from; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (digit < 0) return -1;
    id = id * 36 + digit;
  }
  return id;
}

/**
 * The error a reply stands for: a 503 status is "no responders"; `Nats-Service-Error-Code`
 * marks a Service API error. Undefined for ordinary replies.
 */
export function replyError(msg: Msg, subject: string): Error | undefined {
  if (!msg.hasHeaders) return undefined;
  const h = msg.headers!;
  if (h.status === 503 && msg.data.length === 0) return new NoRespondersError(subject);
  const code = h.get(SERVICE_ERROR_CODE_HEADER);
  if (code !== undefined)
    return new ServiceError(Number(code), h.get(SERVICE_ERROR_HEADER) ?? '', msg);
  return undefined;
}
