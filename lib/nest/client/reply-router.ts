import {
  NoRespondersError,
  ServiceError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '../../core/index.js';
import { decodePayload, ERROR_CODE_HEADER, ERROR_HEADER, hasMore, isStreamEnd } from '../wire.js';

/** What a pending `send()` is told: Nest's `WritePacket` shape. */
export interface RoutedReply {
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

interface Route {
  subject: string;
  timer: NodeJS.Timeout;
  timeout: number;
  deliver(reply: RoutedReply): void;
}

/**
 * Routes replies of `ClientNats.send()` through one wildcard inbox, like the core request mux,
 * but keeps a route open while the server marks replies as "more" (streamed responses).
 */
export class ReplyRouter {
  private readonly routes = new Map<string, Route>();
  private readonly prefix: string;
  private readonly sub: Subscription;
  private counter = 0;

  constructor(nc: NatsConnection) {
    this.prefix = `${nc.newInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (m) => this.route(m) });
  }

  /** Opens a route; returns the reply subject and a function that closes it. */
  open(
    subject: string,
    timeout: number,
    deliver: (reply: RoutedReply) => void,
  ): { reply: string; close(): void } {
    const token = (this.counter++).toString(36);
    const route: Route = {
      subject,
      timeout,
      deliver,
      timer: this.timer(token, subject, timeout, deliver),
    };
    this.routes.set(token, route);
    return { reply: this.prefix + token, close: () => this.drop(token) };
  }

  /** Fails every open route (the client is closing). */
  failAll(err: Error): void {
    for (const [token, route] of this.routes) {
      this.drop(token);
      route.deliver({ err, isDisposed: true });
    }
    this.sub.unsubscribe();
  }

  private route(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const route = this.routes.get(token);
    if (!route) return;
    const h = msg.hasHeaders ? msg.headers! : undefined;
    if (h?.status === 503 && msg.data.length === 0) {
      this.drop(token);
      route.deliver({ err: new NoRespondersError(route.subject), isDisposed: true });
    } else if (h?.has(ERROR_CODE_HEADER)) {
      this.drop(token);
      const err = new ServiceError(
        Number(h.get(ERROR_CODE_HEADER)),
        h.get(ERROR_HEADER) ?? '',
        msg,
      );
      Object.assign(err, { details: decodePayload(msg.data) });
      route.deliver({ err, isDisposed: true });
    } else if (isStreamEnd(msg)) {
      this.drop(token);
      route.deliver({ isDisposed: true });
    } else if (hasMore(msg)) {
      // Each streamed reply restarts the clock: the timeout bounds the gap, not the whole stream.
      clearTimeout(route.timer);
      route.timer = this.timer(token, route.subject, route.timeout, route.deliver);
      route.deliver({ response: decodePayload(msg.data) });
    } else {
      this.drop(token);
      route.deliver({ response: decodePayload(msg.data), isDisposed: true });
    }
  }

  private timer(
    token: string,
    subject: string,
    timeout: number,
    deliver: (r: RoutedReply) => void,
  ): NodeJS.Timeout {
    return setTimeout(() => {
      if (!this.routes.has(token)) return;
      this.routes.delete(token);
      deliver({
        err: new TimeoutError(`request to ${subject} timed out after ${timeout} ms`),
        isDisposed: true,
      });
    }, timeout);
  }

  private drop(token: string): void {
    const route = this.routes.get(token);
    if (!route) return;
    clearTimeout(route.timer);
    this.routes.delete(token);
  }
}
