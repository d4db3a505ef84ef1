import { inspect } from 'node:util';
import { InvalidOptionError } from './errors.js';
import type { HeadersInit } from './messages/headers.js';
import type { Msg } from './messages/msg.js';
import type { Subscription, SubscriptionOptions } from './subscriptions/subscription.js';
import { collectReplies, type RequestManyOptions } from './subscriptions/request-many.js';
import { checkPublishSubject, checkQueueGroup, checkSubscribeSubject } from './subjects.js';
import { checkDelay } from './delays.js';
import { resolveOptions, type ConnectOptions } from './options.js';
import { displayUrl } from './servers.js';
import type { Status } from './status.js';
import type { ServerInfo } from './protocol/handshake.js';
import { parseServerVersion, type ServerVersion } from './server-version.js';
import { ProtocolHandler } from './connection/handler.js';
import { EMPTY, type Publisher, type Stats } from './connection/publisher.js';
import type { ConnectionStateMachine } from './connection/state.js';
import { registerInternals } from './connection-internals.js';
import { ConnectionTelemetry, registerTelemetry } from './telemetry/slot.js';
import { loadContext, registerContextJetStream } from './nats-context.js';

export type { RequestManyOptions, Stats };
export type { ConnectionState } from './connection/state.js';

/** Options of `nc.publish()`. */
export interface PublishOptions {
  /** Reply subject for the receiver to answer on. */
  reply?: string;
  /** Headers to send with the message. */
  headers?: HeadersInit;
}

/** Options of `nc.request()`. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply. @default 1000 */
  timeout?: number;
  /** Headers to send with the request. */
  headers?: HeadersInit;
}

/** A pending limit: a positive integer, or -1 for none. */
function checkPendingLimit(limit: number | undefined, what: string): void {
  if (limit === undefined || limit === -1 || (Number.isInteger(limit) && limit > 0)) return;
  throw new InvalidOptionError(
    `subscription ${what} must be a positive integer, or -1 for no limit; got ${String(limit)}`,
  );
}

/**
 * A connection to a NATS server (or cluster). Created by `connect()`. Publishes are buffered and
 * coalesced into one socket write per event-loop turn; the connection reconnects by itself and
 * replays subscriptions and buffered publishes, unless told not to.
 */
export class NatsConnection {
  private readonly handler: ProtocolHandler;
  // The handler's parts that the hot paths use, one field load away.
  private readonly machine: ConnectionStateMachine;
  private readonly pub: Publisher;
  // OpenTelemetry: its `hooks` field is null (one check on the hot paths) unless an SDK is on.
  private readonly tel: ConnectionTelemetry;

  private constructor(opts: ConnectOptions) {
    const resolved = resolveOptions(opts);
    this.handler = new ProtocolHandler(resolved);
    this.machine = this.handler.machine;
    this.pub = this.handler.publisher;
    this.tel = new ConnectionTelemetry(
      resolved.telemetry ?? true,
      resolved.inboxPrefix,
      () => this.handler.pool.current,
    );
    this.handler.table.telemetry = this.tel;
    registerInternals(this, this.handler);
    registerTelemetry(this, this.tel);
  }

  /** Connects to the first server of the pool that answers. See `connect()`. */
  static async connect(opts: ConnectOptions = {}): Promise<NatsConnection> {
    const context = await loadContext(opts);
    const nc = new NatsConnection(context?.options ?? opts);
    if (context) registerContextJetStream(nc, context.jetstream);
    await nc.handler.connect();
    await nc.tel.start();
    void nc.machine.closed.then(() => nc.tel.stop());
    return nc;
  }

  /** What `console.log(nc)` shows: state and servers, never the options (they hold secrets). */
  [inspect.custom](): string {
    return `NatsConnection { state: '${this.machine.state}', server: '${this.connectedUrl}', servers: ${JSON.stringify(this.servers)} }`;
  }

  // ---- public properties ------------------------------------------------------------------

  /** The INFO of the server this connection is on (last known while reconnecting). */
  get info(): Readonly<ServerInfo> {
    return this.handler.info;
  }
  /**
   * The release of the connected server, parsed from INFO (`{ major: 2, minor: 14, patch: 10,
   * text: '2.14.10' }`); undefined before the first connect or when the server sent no version.
   */
  get serverVersion(): ServerVersion | undefined {
    return parseServerVersion(this.handler.info.version);
  }
  /**
   * The JetStream API level the server announces in INFO (`api_lvl`, nats-server 2.12+), or
   * undefined when it does not. 2.11 reports it only in `jsm.accountInfo().api.level`.
   */
  get apiLevel(): number | undefined {
    const level = this.handler.info.api_lvl;
    return typeof level === 'number' ? level : undefined;
  }
  /** True while a server connection is up (also while draining). */
  get isConnected(): boolean {
    return this.machine.isConnected;
  }
  /** True once the connection is closing or closed. */
  get isClosed(): boolean {
    return this.machine.isClosed;
  }
  /** True while `drain()` runs. */
  get isDraining(): boolean {
    return this.machine.isDraining;
  }
  /** The URL of the current server, without credentials, or '' when disconnected. */
  get connectedUrl(): string {
    return this.handler.connectedUrl;
  }
  /** Every server in the pool. */
  get servers(): string[] {
    return this.handler.pool.servers.map(displayUrl);
  }
  /** Servers learned from cluster gossip. */
  get discoveredServers(): string[] {
    return this.handler.pool.servers.filter((s) => s.implicit).map(displayUrl);
  }
  /** Largest message (headers plus payload) the server accepts. */
  get maxPayload(): number {
    return this.pub.maxPayload;
  }
  /** The server's id for this connection (INFO `client_id`), if the server sent one. */
  get clientId(): number | undefined {
    return this.handler.info.client_id;
  }

  // ---- messaging --------------------------------------------------------------------------

  /**
   * Publishes a message. Returns `undefined`, or a promise while the outbound buffer is above
   * its high-water mark: `await nc.publish(...)` then holds a fast publisher back. Throws
   * `InvalidSubjectError`, `MaxPayloadError`, `ConnectionClosedError`,
   * `ConnectionDrainingError` or, while disconnected with a full buffer, `ReconnectBufferFullError`.
   */
  publish(
    subject: string,
    data?: Uint8Array | string | null,
    opts?: PublishOptions,
  ): Promise<void> | undefined {
    if (!this.machine.publishable) throw this.machine.publishRefusal();
    let reply = '';
    if (opts?.reply) {
      checkPublishSubject(opts.reply, 'reply subject');
      reply = opts.reply;
    }
    const tel = this.tel;
    if (tel.hooks !== null) {
      return tel.publish(
        (headers) => this.pub.publishTo(subject, reply, data ?? EMPTY, headers),
        subject,
        data,
        opts?.headers,
      );
    }
    return this.pub.publishTo(subject, reply, data ?? EMPTY, opts?.headers);
  }

  /**
   * Subscribes to `subject` (wildcards allowed). Throws `InvalidSubjectError`,
   * `ConnectionClosedError` or `ConnectionDrainingError`.
   */
  subscribe(subject: string, opts: SubscriptionOptions = {}): Subscription {
    this.machine.assertOpen();
    checkSubscribeSubject(subject);
    if (opts.queue !== undefined) checkQueueGroup(opts.queue);
    if (opts.max !== undefined && (!Number.isInteger(opts.max) || opts.max < 0)) {
      throw new InvalidOptionError('subscription max must be a non-negative integer');
    }
    checkPendingLimit(opts.pendingMsgsLimit, 'pendingMsgsLimit');
    checkPendingLimit(opts.pendingBytesLimit, 'pendingBytesLimit');
    return this.handler.table.add(subject, opts);
  }

  /**
   * Sends a request and resolves the first reply. Rejects with `TimeoutError`,
   * `NoRespondersError` when nobody listens, `ServiceError` when the reply carries
   * Service API error headers, or `ConnectionClosedError`.
   */
  request(subject: string, data?: Uint8Array | string | null, opts?: RequestOptions): Promise<Msg> {
    try {
      this.machine.assertOpen();
      const timeout = opts?.timeout ?? 1000;
      checkDelay(timeout, 'request timeout', 1);
      const tel = this.tel;
      if (tel.hooks !== null) {
        return tel.request(
          (headers) => this.sendRequest(subject, data, timeout, headers),
          subject,
          data,
          opts?.headers,
        );
      }
      return this.sendRequest(subject, data, timeout, opts?.headers);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private sendRequest(
    subject: string,
    data: Uint8Array | string | null | undefined,
    timeout: number,
    headers: HeadersInit | undefined,
  ): Promise<Msg> {
    const mux = this.handler.table.requestInbox();
    const { reply, response } = mux.register(subject, timeout);
    try {
      // The reply subject is our own inbox: valid by construction.
      void this.pub.publishTo(subject, reply, data ?? EMPTY, headers);
    } catch (err) {
      mux.cancel(reply, err as Error);
    }
    return response;
  }

  /**
   * Sends a request and yields every reply until `maxMessages`, `maxWait` or `stallTimeout`
   * ends it. Throws `NoRespondersError` when nobody listens.
   */
  async *requestMany(
    subject: string,
    data?: Uint8Array | string | null,
    opts: RequestManyOptions = {},
  ): AsyncGenerator<Msg> {
    this.machine.assertOpen();
    yield* collectReplies(this, subject, data, opts);
  }

  /** Resolves when the server has processed everything sent so far (a PING/PONG round trip). */
  flush(): Promise<void> {
    return this.handler.flush();
  }

  /** The round-trip time to the server in milliseconds. */
  async rtt(): Promise<number> {
    const start = process.hrtime.bigint();
    await this.flush();
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  /** A new unique inbox subject under the configured prefix. */
  newInbox(): string {
    return this.handler.table.newInbox();
  }

  /** Counters since the connection was created. */
  stats(): Stats {
    return { ...this.handler.counters };
  }

  /** Status events (connect, disconnect, reconnecting, reconnect, errors, close...). */
  status(): AsyncIterableIterator<Status> {
    return this.machine.iterate();
  }

  /** Resolves when the connection is closed: with the error that closed it, or undefined. */
  closed(): Promise<Error | undefined> {
    return this.machine.closed;
  }

  /**
   * Drains every subscription (the request inbox last), flushes pending publishes, then closes.
   * Gives up after `drainTimeout` and closes anyway, reporting a `TimeoutError`.
   */
  drain(): Promise<void> {
    return this.handler.drain();
  }

  /** Closes now: buffered publishes are written if connected, pending requests fail. */
  async close(): Promise<void> {
    await this.handler.shutdown(undefined);
  }
}

/**
 * Connects to NATS. Rejects with `ConnectionError`, `AuthorizationError`, `InvalidOptionError`
 * or, when a credential supplier fails, `CredentialSupplierError`.
 */
export function connect(opts?: ConnectOptions): Promise<NatsConnection> {
  return NatsConnection.connect(opts);
}
