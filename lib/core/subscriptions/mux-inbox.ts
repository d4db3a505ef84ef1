import {
  NoRespondersError,
  ServiceError,
  TimeoutError,
  type NatsError,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
} from '../errors.js';
import type { Msg } from '../messages/msg.js';

interface PendingRequest {
  resolve(msg: Msg): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  subject: string;
}

/**
 * The request multiplexer: every request shares one wildcard subscription `<prefix>.<nuid>.*`
 * and is told apart by the last token of its reply subject, so a request costs one publish and
 * no SUB/UNSUB round trips.
 */
export class MuxInbox {
  private readonly pending = new Map<string, PendingRequest>();
  private counter = 0;
  private idleWaiters: Array<() => void> = [];

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
    const token = (this.counter++).toString(36);
    let entry!: PendingRequest;
    const response = new Promise<Msg>((resolve, reject) => {
      entry = { resolve, reject, subject, timer: undefined as unknown as NodeJS.Timeout };
    });
    entry.timer = setTimeout(() => {
      if (this.pending.delete(token))
        entry.reject(new TimeoutError(`request to ${subject} timed out after ${timeout} ms`));
    }, timeout);
    this.pending.set(token, entry);
    return { reply: this.prefix + token, response };
  }

  /** Drops a registration whose publish failed. */
  cancel(reply: string, err: Error): void {
    const token = reply.slice(this.prefix.length);
    const entry = this.pending.get(token);
    if (!entry) return;
    this.pending.delete(token);
    clearTimeout(entry.timer);
    entry.reject(err);
    this.notifyIdle();
  }

  /** Routes a reply to its request; late or unknown replies are dropped. */
  dispatch(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const entry = this.pending.get(token);
    if (entry === undefined) return;
    this.pending.delete(token);
    clearTimeout(entry.timer);
    const err = replyError(msg, entry.subject);
    if (err) entry.reject(err);
    else entry.resolve(msg);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Fails every pending request (the connection closed). */
  failAll(err: NatsError): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(err);
    }
    this.pending.clear();
    this.notifyIdle();
  }
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
