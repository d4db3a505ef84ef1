import {
  ConnectionClosedError,
  ServiceError,
  replyError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '../../core/internal.js';
import { decodePayload, hasMore, isStreamEnd, replyRecord } from '../wire.js';

/** What a pending `send()` is told: Nest's `WritePacket` shape. */
export interface RoutedReply {
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

interface Route {
  subject: string;
  deadline: number;
  /** Deliver each reply as a `NatsRecord` (payload and headers), not the bare payload. */
  asRecord: boolean;
  deliver(reply: RoutedReply): void;
}

/**
 * Routes replies of `ClientNats.send()` through one wildcard inbox, like the core request mux,
 * but keeps a route open while the server marks replies as "more" (streamed responses).
 *
 * Every route of a router has the same timeout, so the map's insertion order is deadline order
 * (a streamed reply re-inserts its route): one timer, armed for the oldest route, serves all.
 */
export class ReplyRouter {
  private readonly routes = new Map<string, Route>();
  private readonly prefix: string;
  private readonly sub: Subscription;
  private counter = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    nc: NatsConnection,
    private readonly timeout: number,
  ) {
    this.prefix = `${nc.newInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (m) => this.route(m) });
    // The connection closed under the client (reconnects given up, closed through unwrap()):
    // no reply can come, so the open routes fail now and no timer is left behind.
    void this.sub.closed.then(() => this.failAll(new ConnectionClosedError('connection closed')));
  }

  /**
   * Opens a route; returns the reply subject and a function that closes it. With `asRecord`
   * each reply is delivered as a `NatsRecord` carrying its headers.
   */
  open(
    subject: string,
    deliver: (reply: RoutedReply) => void,
    asRecord = false,
  ): { reply: string; close: () => void } {
    const token = (this.counter++).toString(36);
    this.routes.set(token, { subject, deliver, asRecord, deadline: Date.now() + this.timeout });
    if (this.timer === undefined) this.arm();
    return { reply: this.prefix + token, close: () => this.routes.delete(token) };
  }

  /** Fails every open route (the client is closing). */
  failAll(err: Error): void {
    const routes = [...this.routes.values()];
    this.routes.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const route of routes) route.deliver({ err, isDisposed: true });
    this.sub.unsubscribe();
  }

  private route(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const route = this.routes.get(token);
    if (!route) return;
    if (hasMore(msg)) {
      // Each streamed reply restarts the clock: the timeout bounds the gap, not the whole stream.
      this.routes.delete(token);
      route.deadline = Date.now() + this.timeout;
      this.routes.set(token, route);
      route.deliver({ response: response(route, msg) });
      return;
    }
    this.routes.delete(token);
    const err = replyError(msg, route.subject);
    if (err !== undefined) {
      if (err instanceof ServiceError) err.details = decodePayload(msg.data);
      route.deliver({ err, isDisposed: true });
    } else if (isStreamEnd(msg)) {
      route.deliver({ isDisposed: true });
    } else {
      route.deliver({ response: response(route, msg), isDisposed: true });
    }
  }

  /** Arms the timer for the oldest open route, if any. */
  private arm(): void {
    this.timer = undefined;
    const first = this.routes.values().next();
    if (first.done) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, first.value.deadline - Date.now()));
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, route] of this.routes) {
      if (route.deadline > now) break;
      this.routes.delete(token);
      route.deliver({
        err: new TimeoutError(`request to ${route.subject} timed out after ${this.timeout} ms`),
        isDisposed: true,
      });
    }
    this.arm();
  }
}

/** A reply's value as its route delivers it: the decoded payload, or a record with headers. */
function response(route: Route, msg: Msg): unknown {
  return route.asRecord ? replyRecord(msg) : decodePayload(msg.data);
}
