import type { NatsError, PermissionViolationError } from '../errors.js';
import { InFlight } from '../in-flight.js';
import { encodeLine, subLine, unsubLine } from '../protocol/encoder.js';
import {
  Subscription,
  type SubscriptionHost,
  type SubscriptionOptions,
} from '../subscriptions/subscription.js';
import { MuxInbox } from '../subscriptions/mux-inbox.js';
import { checkControlLine } from '../subjects.js';
import type { Outbound } from '../transport/outbound.js';
import { nuid } from '../nuid.js';
import type { ConnectionTelemetry } from '../telemetry/slot.js';

/** What the table needs from the rest of the connection. */
export interface SubscriptionTableLink {
  /** A PING/PONG round trip (rejects once closed). */
  flush(): Promise<void>;
  reportError(err: NatsError): void;
}

/**
 * The subscriptions of a connection by sid, the SUB/UNSUB lines they cost, and the request
 * inbox (one wildcard subscription shared by every request).
 */
export class SubscriptionTable implements SubscriptionHost {
  /** Subscriptions by sid; the protocol handler looks messages up here. */
  readonly bySid = new Map<number, Subscription>();
  /** Async subscription callbacks still running: drain() waits for them. */
  readonly callbacks = new InFlight();
  /** Set by the connection: callback subscriptions run in process spans while it is on. */
  telemetry: ConnectionTelemetry | null = null;
  private nextSid = 1;
  private mux: MuxInbox | null = null;
  private muxSub: Subscription | null = null;

  constructor(
    private readonly outbound: Outbound,
    private readonly link: SubscriptionTableLink,
    private readonly inboxPrefix: string,
    private readonly maxControlLine: number,
    private readonly longLine: number,
  ) {}

  /** A new unique inbox subject under the configured prefix. */
  newInbox(): string {
    return `${this.inboxPrefix}.${nuid.next()}`;
  }

  /** Adds a subscription whose subject and options were validated, and sends its SUB. */
  add(subject: string, opts: SubscriptionOptions): Subscription {
    if (subject.length + (opts.queue?.length ?? 0) > this.longLine) {
      const queue = opts.queue === undefined ? '' : ` ${opts.queue}`;
      checkControlLine(`SUB ${subject}${queue} ${this.nextSid}\r\n`, this.maxControlLine);
    }
    const sid = this.nextSid++;
    const sub = new Subscription(this, sid, subject, opts);
    this.bySid.set(sid, sub);
    if (this.outbound.connected) {
      encodeLine(this.outbound, subLine(subject, sid, opts.queue));
      if (sub.max > 0) encodeLine(this.outbound, unsubLine(sid, sub.max));
      this.outbound.written();
    }
    return sub;
  }

  /** The request inbox, subscribed the first time a request needs it. */
  requestInbox(): MuxInbox {
    if (this.mux === null) {
      const mux = new MuxInbox(`${this.newInbox()}.`);
      this.muxSub = this.add(mux.subject, { callback: (m) => mux.dispatch(m) });
      this.mux = mux;
    }
    return this.mux;
  }

  unsubscribe(sub: Subscription, max?: number): void {
    if (max !== undefined && max > 0) {
      if (this.outbound.connected) {
        encodeLine(this.outbound, unsubLine(sub.sid, max));
        this.outbound.written();
      }
      return;
    }
    if (!this.bySid.delete(sub.sid)) return;
    if (this.outbound.connected) {
      encodeLine(this.outbound, unsubLine(sub.sid));
      this.outbound.written();
    } else if (this.outbound.pendingBytes > 0) {
      // Bytes kept from the lost connection may hold this sub's SUB, sent again after the
      // reconnect: follow them with its UNSUB (an UNSUB of an unknown sid is harmless).
      try {
        encodeLine(this.outbound, unsubLine(sub.sid));
      } catch {
        // The reconnect buffer is full: the server keeps an interest we no longer read.
      }
    }
    sub.close();
  }

  async drainSubscription(sub: Subscription): Promise<void> {
    if (this.bySid.has(sub.sid) && this.outbound.connected) {
      encodeLine(this.outbound, unsubLine(sub.sid));
      this.outbound.written();
      // Messages sent before the UNSUB arrive before the PONG, and are dispatched by then.
      await this.link.flush().catch(() => undefined);
    }
    this.bySid.delete(sub.sid);
    sub.close();
  }

  reportError(err: NatsError): void {
    this.link.reportError(err);
  }

  /** The SUB (and remaining auto-UNSUB) lines that restore every subscription after a reconnect. */
  replayLines(): string {
    let lines = '';
    for (const sub of this.bySid.values()) {
      // A sub whose drain was under way is finished, not resubscribed.
      if (sub.limitReached || sub.isDraining) continue;
      lines += subLine(sub.subject, sub.sid, sub.queue) + '\r\n';
      if (sub.max > 0) lines += unsubLine(sub.sid, sub.max - sub.delivered) + '\r\n';
    }
    return lines;
  }

  /** The server refused a SUB (that subscription ends) or a PUB (a request waiting on it fails). */
  permissionViolation(err: PermissionViolationError): void {
    if (err.operation === 'subscription') {
      for (const sub of this.bySid.values()) {
        if (sub.subject === err.subject && (err.queue === undefined || sub.queue === err.queue)) {
          this.bySid.delete(sub.sid);
          sub.close(err);
          // Without its inbox no request can be answered: fail them now, make a new inbox next time.
          if (sub === this.muxSub) {
            this.mux?.failAll(err);
            this.mux = null;
            this.muxSub = null;
          }
          break;
        }
      }
    } else {
      // The request never left the server: fail it now rather than at its timeout.
      this.mux?.failSubject(err.subject, err);
    }
  }

  /**
   * Drain's first step: every subscription but the request inbox, then async callbacks still
   * running (unless `waitCallbacks` is false: drain() was called from one), then requests in
   * flight, then the inbox.
   */
  async drainAll(waitCallbacks: boolean, timeout: number): Promise<void> {
    const subs = [...this.bySid.values()].filter((s) => s !== this.muxSub);
    await Promise.all(subs.map((s) => s.drain()));
    if (waitCallbacks) await this.callbacks.settle(timeout);
    // Requests in flight get their replies (or their own timeouts) before the inbox goes.
    if (this.mux) await this.mux.whenIdle();
    if (this.muxSub) await this.muxSub.drain();
  }

  /** Fails every request waiting for a reply (on close). */
  failRequests(err: NatsError): void {
    this.mux?.failAll(err);
  }

  /** Closes every subscription with `err` (on close). */
  closeAll(err: Error | undefined): void {
    for (const sub of this.bySid.values()) sub.close(err);
    this.bySid.clear();
  }
}
