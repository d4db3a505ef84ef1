import { inspect } from 'node:util';
import type { NatsSocket } from './transport/socket.js';
import { endSocket, openSocket, upgradeTls } from './transport/socket.js';
import { Outbound } from './transport/outbound.js';
import { Parser, type ParserSink } from './protocol/parser.js';
import {
  connectFrame,
  encodeLine,
  encodePub,
  encodePubPrefixed,
  subLine,
  unsubLine,
} from './protocol/encoder.js';
import { buildConnect, classifyServerError, type ServerInfo } from './protocol/handshake.js';
import {
  AuthorizationError,
  ConnectionClosedError,
  ConnectionDrainingError,
  ConnectionError,
  InvalidOptionError,
  MaxPayloadError,
  NatsError,
  PermissionViolationError,
  ProtocolError,
  TimeoutError,
} from './errors.js';
import { MsgHeaders, type HeadersInit } from './messages/headers.js';
import { Msg } from './messages/msg.js';
import {
  Subscription,
  type SubscriptionHost,
  type SubscriptionOptions,
} from './subscriptions/subscription.js';
import { MuxInbox } from './subscriptions/mux-inbox.js';
import { collectReplies, type RequestManyOptions } from './subscriptions/request-many.js';

export type { RequestManyOptions };
import {
  checkControlLine,
  checkPublishSubject,
  checkQueueGroup,
  checkSubscribeSubject,
} from './subjects.js';
import { checkDelay } from './delays.js';
import { InFlight } from './in-flight.js';
import {
  resolveOptions,
  type ConnectOptions,
  type ResolvedOptions,
  type TlsOptions,
} from './options.js';
import { ServerPool, displayUrl, type ServerEntry } from './servers.js';
import { Broadcast, notifyCallbacks, type Status } from './status.js';
import { credentialFields } from './auth/credentials.js';
import { nuid } from './nuid.js';
import { parseServerVersion, type ServerVersion } from './server-version.js';

/** The lifecycle of a connection; every change goes through `transition()`. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'draining' | 'closed';

export interface PublishOptions {
  /** Reply subject for the receiver to answer on. */
  reply?: string;
  headers?: HeadersInit;
}

export interface RequestOptions {
  /** @default 1000 */
  timeout?: number;
  headers?: HeadersInit;
}

export interface Stats {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  reconnects: number;
}

type PongWaiter = (err?: Error) => void;

const EMPTY = new Uint8Array(0);

/** A pending limit: a positive integer, or -1 for none. */
function checkPendingLimit(limit: number | undefined, what: string): void {
  if (limit === undefined || limit === -1 || (Number.isInteger(limit) && limit > 0)) return;
  throw new InvalidOptionError(
    `subscription ${what} must be a positive integer, or -1 for no limit; got ${String(limit)}`,
  );
}

/** Bytes of message data; anything but a string or a Uint8Array (Buffer) is refused. */
function payloadSize(payload: Uint8Array | string): number {
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  if (payload instanceof Uint8Array) return payload.length;
  // Other typed arrays count elements, not bytes: sending them would corrupt the message.
  const what = ArrayBuffer.isView(payload)
    ? (payload as object).constructor.name
    : typeof payload === 'object'
      ? String((payload as object).constructor?.name ?? 'object')
      : typeof payload;
  throw new InvalidOptionError(
    `message data must be a string or a Uint8Array (Buffer), not ${what}`,
  );
}

/**
 * A connection to a NATS server (or cluster). Created by `connect()`. Publishes are buffered and
 * coalesced into one socket write per event-loop turn; the connection reconnects by itself and
 * replays subscriptions and buffered publishes, unless told not to.
 */
export class NatsConnection implements ParserSink, SubscriptionHost {
  private state: ConnectionState = 'connecting';
  private readonly opts: ResolvedOptions;
  private readonly pool: ServerPool;
  private socket: NatsSocket | null = null;
  private parser: Parser | null = null;
  private readonly outbound: Outbound;
  private readonly subs = new Map<number, Subscription>();
  /** @internal Async subscription callbacks still running: drain() waits for them. */
  readonly callbacks = new InFlight();
  private dispatching = false;
  private readonly prefixes = new Map<string, Buffer>();
  private readonly seenOnce = new Set<string>();
  // Subject plus reply lengths (UTF-16 units) above which a PUB line may exceed the server's
  // control-line limit (UTF-8 takes at most 3 bytes per unit): only then is it measured.
  private readonly longLine: number;
  private readonly warnedAt = new Map<string, number>();
  private nextSid = 1;
  private mux: MuxInbox | null = null;
  private muxSub: Subscription | null = null;
  private pongs: PongWaiter[] = [];
  // Flushes asked for while disconnected, answered by one PING after the reconnect.
  private deferredPongs: PongWaiter[] = [];
  private pingsOut = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private handshake: {
    onInfo(info: ServerInfo): void;
    onPong(): void;
    fail(err: Error): void;
  } | null = null;
  private serverInfo: ServerInfo = {} as ServerInfo;
  private lastError: Error | undefined;
  private readonly counters: Stats = {
    inMsgs: 0,
    outMsgs: 0,
    inBytes: 0,
    outBytes: 0,
    reconnects: 0,
  };
  private readonly events = new Broadcast<Status>();
  private resolveClosed!: (err: Error | undefined) => void;
  private readonly closedPromise = new Promise<Error | undefined>((r) => (this.resolveClosed = r));
  private wakeReconnect: (() => void) | undefined;
  private drainPromise: Promise<void> | undefined;
  // False until the first successful handshake (waitOnFirstConnect): that one is a connect.
  private everConnected = false;
  // While draining: subscriptions first (publishes still allowed), then pending publishes.
  private drainPhase: 'subs' | 'pubs' | undefined;

  private constructor(opts: ConnectOptions) {
    this.opts = resolveOptions(opts);
    const urls = Array.isArray(this.opts.servers)
      ? this.opts.servers
      : [this.opts.servers as string];
    this.pool = new ServerPool(urls, !this.opts.noRandomize);
    this.outbound = new Outbound(this.opts.writeHighWaterMark, this.opts.reconnectBufferSize);
    this.longLine = Math.floor((this.opts.maxControlLine - 64) / 3);
  }

  /** Connects to the first server of the pool that answers. See `connect()`. */
  static async connect(opts: ConnectOptions = {}): Promise<NatsConnection> {
    const nc = new NatsConnection(opts);
    await nc.initialConnect();
    return nc;
  }

  /** What `console.log(nc)` shows: state and servers, never the options (they hold secrets). */
  [inspect.custom](): string {
    return `NatsConnection { state: '${this.state}', server: '${this.connectedUrl}', servers: ${JSON.stringify(this.servers)} }`;
  }

  // ---- public properties ------------------------------------------------------------------

  /** The INFO of the server this connection is on (last known while reconnecting). */
  get info(): Readonly<ServerInfo> {
    return this.serverInfo;
  }
  /**
   * The release of the connected server, parsed from INFO (`{ major: 2, minor: 14, patch: 10,
   * text: '2.14.10' }`); undefined before the first connect or when the server sent no version.
   */
  get serverVersion(): ServerVersion | undefined {
    return parseServerVersion(this.serverInfo.version);
  }
  /**
   * The JetStream API level the server announces in INFO (`api_lvl`, nats-server 2.12+), or
   * undefined when it does not. 2.11 reports it only in `jsm.accountInfo().api.level`.
   */
  get apiLevel(): number | undefined {
    const level = this.serverInfo.api_lvl;
    return typeof level === 'number' ? level : undefined;
  }
  get isConnected(): boolean {
    return this.state === 'connected' || this.state === 'draining';
  }
  get isClosed(): boolean {
    return this.state === 'closed';
  }
  get isDraining(): boolean {
    return this.state === 'draining';
  }
  /** The URL of the current server, without credentials, or '' when disconnected. */
  get connectedUrl(): string {
    return this.isConnected && this.pool.current ? displayUrl(this.pool.current) : '';
  }
  /** Every server in the pool. */
  get servers(): string[] {
    return this.pool.servers.map(displayUrl);
  }
  /** Servers learned from cluster gossip. */
  get discoveredServers(): string[] {
    return this.pool.servers.filter((s) => s.implicit).map(displayUrl);
  }
  /** Largest message (headers plus payload) the server accepts. */
  get maxPayload(): number {
    return this.serverInfo.max_payload ?? 1024 * 1024;
  }
  get clientId(): number | undefined {
    return this.serverInfo.client_id;
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
    this.assertPublishable();
    let reply = '';
    if (opts?.reply) {
      checkPublishSubject(opts.reply, 'reply subject');
      reply = opts.reply;
    }
    return this.publishTo(subject, reply, data ?? EMPTY, opts?.headers);
  }

  /** Publishes to `subject` (validated here, or cached) with a reply already known valid. */
  private publishTo(
    subject: string,
    reply: string,
    payload: Uint8Array | string,
    headers: HeadersInit | undefined,
  ): Promise<void> | undefined {
    if (headers === undefined) {
      const prefix = this.prefixFor(subject);
      // The common case: a repeated subject, its `PUB <subject> ` bytes cached and validated.
      if (prefix !== undefined) return this.sendPrefixed(prefix, reply, payload);
    }
    checkPublishSubject(subject);
    return this.send(subject, reply, payload, headers);
  }

  /**
   * @internal Publishes an answer to a received message's reply subject. That subject came off
   * the wire, so it is neither validated again nor put in the prefix cache (replies and acks
   * are one-off subjects).
   */
  respondTo(
    replySubject: string,
    data: Uint8Array | string | undefined,
    headers: HeadersInit | undefined,
  ): Promise<void> | undefined {
    this.assertPublishable();
    return this.send(replySubject, '', data ?? EMPTY, headers);
  }

  private assertPublishable(): void {
    if (this.state === 'closed') throw new ConnectionClosedError();
    if (this.drainingPubs) throw new ConnectionDrainingError();
  }

  /** Encodes a PUB/HPUB of a validated subject. */
  private send(
    subject: string,
    reply: string,
    payload: Uint8Array | string,
    headersInit: HeadersInit | undefined,
  ): Promise<void> | undefined {
    const size = payloadSize(payload);
    const headers = headersInit === undefined ? null : MsgHeaders.from(headersInit).encode();
    const total = size + (headers === null ? 0 : headers.length);
    if (total > this.maxPayload) throw new MaxPayloadError(total, this.maxPayload);
    if (subject.length + reply.length > this.longLine) {
      const op = headers === null ? 'PUB' : `HPUB`;
      const sizes = headers === null ? `${total}` : `${headers.length} ${total}`;
      checkControlLine(`${op} ${subject} ${reply} ${sizes}\r\n`, this.opts.maxControlLine);
    }
    encodePub(this.outbound, subject, reply, payload, size, headers);
    return this.sent(total);
  }

  /** Encodes a PUB from a cached prefix: no headers, the reply (if any) already validated. */
  private sendPrefixed(
    prefix: Buffer,
    reply: string,
    payload: Uint8Array | string,
  ): Promise<void> | undefined {
    const size = payloadSize(payload);
    if (size > this.maxPayload) throw new MaxPayloadError(size, this.maxPayload);
    if (prefix.length + reply.length > this.longLine) {
      checkControlLine(`${prefix.toString()}${reply} ${size}\r\n`, this.opts.maxControlLine);
    }
    encodePubPrefixed(this.outbound, prefix, reply, payload, size);
    return this.sent(size);
  }

  private sent(bytes: number): Promise<void> | undefined {
    this.outbound.written();
    this.counters.outMsgs++;
    this.counters.outBytes += bytes;
    return this.outbound.pressure();
  }

  /**
   * The cached `PUB <subject> ` bytes of a subject published before, or undefined. A subject
   * is cached the second time it is seen, so one-off subjects (replies, acks) never churn the
   * bounded cache.
   */
  private prefixFor(subject: string): Buffer | undefined {
    const cached = this.prefixes.get(subject);
    if (cached !== undefined) return cached;
    if (!this.seenOnce.has(subject)) {
      if (this.seenOnce.size >= 1024) this.seenOnce.clear();
      this.seenOnce.add(subject);
      return undefined;
    }
    checkPublishSubject(subject);
    if (this.prefixes.size >= 1024) this.prefixes.clear();
    const prefix = Buffer.from(`PUB ${subject} `);
    this.prefixes.set(subject, prefix);
    return prefix;
  }

  /**
   * Subscribes to `subject` (wildcards allowed). Throws `InvalidSubjectError`,
   * `ConnectionClosedError` or `ConnectionDrainingError`.
   */
  subscribe(subject: string, opts: SubscriptionOptions = {}): Subscription {
    this.assertOpen();
    checkSubscribeSubject(subject);
    if (opts.queue !== undefined) checkQueueGroup(opts.queue);
    if (opts.max !== undefined && (!Number.isInteger(opts.max) || opts.max < 0)) {
      throw new InvalidOptionError('subscription max must be a non-negative integer');
    }
    checkPendingLimit(opts.pendingMsgsLimit, 'pendingMsgsLimit');
    checkPendingLimit(opts.pendingBytesLimit, 'pendingBytesLimit');
    if (subject.length + (opts.queue?.length ?? 0) > this.longLine) {
      const queue = opts.queue === undefined ? '' : ` ${opts.queue}`;
      checkControlLine(`SUB ${subject}${queue} ${this.nextSid}\r\n`, this.opts.maxControlLine);
    }
    const sid = this.nextSid++;
    const sub = new Subscription(this, sid, subject, opts);
    this.subs.set(sid, sub);
    if (this.outbound.connected) {
      encodeLine(this.outbound, subLine(subject, sid, opts.queue));
      if (sub.max > 0) encodeLine(this.outbound, unsubLine(sid, sub.max));
      this.outbound.written();
    }
    return sub;
  }

  /**
   * Sends a request and resolves the first reply. Rejects with `TimeoutError`,
   * `NoRespondersError` when nobody listens, `ServiceError` when the reply carries
   * Service API error headers, or `ConnectionClosedError`.
   */
  request(subject: string, data?: Uint8Array | string | null, opts?: RequestOptions): Promise<Msg> {
    try {
      this.assertOpen();
      const timeout = opts?.timeout ?? 1000;
      checkDelay(timeout, 'request timeout', 1);
      const mux = this.ensureMux();
      const { reply, response } = mux.register(subject, timeout);
      try {
        // The reply subject is our own inbox: valid by construction.
        void this.publishTo(subject, reply, data ?? EMPTY, opts?.headers);
      } catch (err) {
        mux.cancel(reply, err as Error);
      }
      return response;
    } catch (err) {
      return Promise.reject(err);
    }
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
    this.assertOpen();
    yield* collectReplies(this, subject, data, opts);
  }

  /** Resolves when the server has processed everything sent so far (a PING/PONG round trip). */
  flush(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new ConnectionClosedError());
    return new Promise<void>((resolve, reject) => {
      const waiter: PongWaiter = (err) => (err ? reject(err) : resolve());
      if (this.socket === null || this.handshake !== null || !this.outbound.connected) {
        this.deferredPongs.push(waiter);
        return;
      }
      this.pongs.push(waiter);
      this.ping();
    });
  }

  /** The round-trip time to the server in milliseconds. */
  async rtt(): Promise<number> {
    const start = process.hrtime.bigint();
    await this.flush();
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  /** A new unique inbox subject under the configured prefix. */
  newInbox(): string {
    return `${this.opts.inboxPrefix}.${nuid.next()}`;
  }

  /** Counters since the connection was created. */
  stats(): Stats {
    return { ...this.counters };
  }

  /** Status events (connect, disconnect, reconnecting, reconnect, errors, close...). */
  status(): AsyncIterableIterator<Status> {
    return this.events.iterate();
  }

  /** Resolves when the connection is closed: with the error that closed it, or undefined. */
  closed(): Promise<Error | undefined> {
    return this.closedPromise;
  }

  /**
   * Drains every subscription (the request inbox last), flushes pending publishes, then closes.
   * Gives up after `drainTimeout` and closes anyway, reporting a `TimeoutError`.
   */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.drainPromise) return this.drainPromise;
    if (this.state !== 'connected') return this.close();
    this.transition('draining');
    this.drainPromise = this.runDrain(!this.dispatching);
    return this.drainPromise;
  }

  /** Closes now: buffered publishes are written if connected, pending requests fail. */
  async close(): Promise<void> {
    await this.shutdown(undefined);
  }

  // ---- SubscriptionHost -------------------------------------------------------------------

  /** @internal */
  unsubscribe(sub: Subscription, max?: number): void {
    if (max !== undefined && max > 0) {
      if (this.outbound.connected) {
        encodeLine(this.outbound, unsubLine(sub.sid, max));
        this.outbound.written();
      }
      return;
    }
    if (!this.subs.delete(sub.sid)) return;
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

  /** @internal */
  async drainSubscription(sub: Subscription): Promise<void> {
    if (this.subs.has(sub.sid) && this.outbound.connected) {
      encodeLine(this.outbound, unsubLine(sub.sid));
      this.outbound.written();
      // Messages sent before the UNSUB arrive before the PONG, and are dispatched by then.
      await this.flush().catch(() => undefined);
    }
    this.subs.delete(sub.sid);
    sub.close();
  }

  /**
   * @internal True while a subscription callback runs (its synchronous part): a drain or stop
   * asked for from there must not wait for running callbacks, the caller being one of them.
   */
  get isDispatching(): boolean {
    return this.dispatching;
  }

  /** @internal The drain budget, also used by services stopping. */
  get drainTimeout(): number {
    return this.opts.drainTimeout;
  }

  /** @internal Reports an error that belongs to no call. */
  reportError(err: NatsError): void {
    this.emit({ type: 'error', error: err });
    // Without an onError handler these errors (dropped messages, throwing callbacks) would
    // only reach status() readers: also warn on stderr, at most once a minute per kind.
    if (this.opts.onError === undefined) {
      const now = Date.now();
      if (now - (this.warnedAt.get(err.code) ?? -Infinity) >= 60_000) {
        this.warnedAt.set(err.code, now);
        process.emitWarning(err.message, { type: 'NatsWarning', code: err.code });
      }
    }
  }

  // ---- ParserSink -------------------------------------------------------------------------

  /** @internal */
  onMsg(
    subject: string,
    sid: number,
    reply: string,
    headers: Uint8Array | null,
    payload: Uint8Array,
  ): void {
    this.counters.inMsgs++;
    this.counters.inBytes += payload.length + (headers === null ? 0 : headers.length);
    const sub = this.subs.get(sid);
    if (sub === undefined) return;
    this.dispatching = true;
    sub.deliver(new Msg(subject, sid, reply, payload, headers, this));
    this.dispatching = false;
  }

  /** @internal */
  onInfo(info: Record<string, unknown>): void {
    const next = info as unknown as ServerInfo;
    if (this.handshake !== null) {
      this.handshake.onInfo(next);
      return;
    }
    this.serverInfo = { ...this.serverInfo, ...next };
    this.applyGossip(next);
    if (next.ldm === true) {
      this.emit({ type: 'lameDuck', server: this.connectedUrl });
      // Move before the server closes us, when there is somewhere to go; the reconnect replays
      // subscriptions and keeps publishes buffered meanwhile.
      const socket = this.socket;
      if (socket && this.opts.reconnect && this.pool.servers.length > 1) {
        this.outbound.flushAll();
        this.outbound.detach();
        socket.end();
      }
    }
  }

  /** @internal */
  onPing(): void {
    const socket = this.socket;
    if (socket && !socket.writableEnded) socket.write('PONG\r\n');
  }

  /** @internal */
  onPong(): void {
    if (this.handshake !== null) {
      this.handshake.onPong();
      return;
    }
    this.pingsOut = 0;
    this.pongs.shift()?.();
  }

  /** @internal */
  onOk(): void {}

  /** @internal */
  onErr(message: string): void {
    const err = classifyServerError(message);
    if (this.handshake !== null) {
      this.handshake.fail(err);
      return;
    }
    if (err instanceof PermissionViolationError) {
      this.permissionViolation(err);
      return;
    }
    if (err instanceof ProtocolError && /invalid subject|maximum subscriptions/i.test(message)) {
      this.reportError(err);
      return;
    }
    // Fatal: the server closes the socket; remember why for the disconnect/close events.
    this.lastError = err;
    this.reportError(err);
  }

  // ---- connecting -------------------------------------------------------------------------

  private async initialConnect(): Promise<void> {
    let lastErr: Error | undefined;
    for (let i = 0; i < this.pool.servers.length; i++) {
      const server = this.pool.next() as ServerEntry;
      try {
        await this.attempt(server);
        this.connected(server, false);
        return;
      } catch (err) {
        lastErr = err as Error;
        if (err instanceof AuthorizationError) break;
      }
    }
    if (this.opts.waitOnFirstConnect && !(lastErr instanceof AuthorizationError)) {
      this.transition('reconnecting');
      void this.reconnectLoop();
      return;
    }
    this.transition('closed');
    this.events.end();
    this.resolveClosed(lastErr);
    throw lastErr ?? new ConnectionError('no servers to connect to');
  }

  /** One connection attempt: TCP, INFO, optional TLS, CONNECT + PING, PONG. */
  private async attempt(server: ServerEntry): Promise<void> {
    server.lastAttempt = Date.now();
    this.lastError = undefined;
    const tlsOpts =
      typeof this.opts.tls === 'object' ? this.opts.tls : this.opts.tls ? {} : undefined;
    const wantTls = server.tls || tlsOpts !== undefined;
    let socket = await openSocket(server, this.opts.timeout, tlsOpts);
    const deadline = setTimeout(
      () => fail(new ConnectionError(`handshake with ${server.hostport} timed out`)),
      this.opts.timeout,
    );
    let fail: (err: Error) => void = () => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        fail = (err: Error) => {
          this.handshake = null;
          reject(err);
        };
        this.handshake = {
          onInfo: (info) => {
            this.handshake!.onInfo = () => undefined;
            void this.sendConnect(server, info, socket, wantTls, tlsOpts)
              .then((s) => (socket = s))
              .catch(fail);
          },
          onPong: () => {
            this.handshake = null;
            resolve();
          },
          fail,
        };
        this.bindSocket(socket);
      });
    } catch (err) {
      socket.destroy();
      if (this.socket === socket) this.socket = null;
      throw err;
    } finally {
      clearTimeout(deadline);
    }
  }

  private async sendConnect(
    server: ServerEntry,
    info: ServerInfo,
    socket: NatsSocket,
    wantTls: boolean,
    tlsOpts: TlsOptions | undefined,
  ): Promise<NatsSocket> {
    this.serverInfo = info;
    if ((wantTls || info.tls_required) && !('encrypted' in socket && socket.encrypted)) {
      socket.removeAllListeners('data');
      socket = await upgradeTls(socket, server, tlsOpts, this.opts.timeout);
      this.bindSocket(socket);
    }
    const creds = await credentialFields(this.opts, server, info.nonce);
    socket.write(connectFrame(buildConnect(this.opts, info, creds, wantTls)));
    return socket;
  }

  private bindSocket(socket: NatsSocket): void {
    this.socket = socket;
    this.parser = new Parser(this);
    const parser = this.parser;
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        parser.parse(chunk);
      } catch (err) {
        const e = err instanceof NatsError ? err : new ProtocolError(String(err));
        this.lastError = e;
        this.reportError(e);
        if (this.handshake) this.handshake.fail(e);
        socket.destroy();
      }
    });
    socket.on('drain', () => this.outbound.drained());
    socket.on('error', (err) => {
      if (this.socket === socket && !this.lastError)
        this.lastError = new ConnectionError(`socket error: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.socketClosed(socket));
  }

  /** The handshake succeeded: replay subscriptions, then buffered publishes, then flushes. */
  private connected(server: ServerEntry, isReconnect: boolean): void {
    const socket = this.socket as NatsSocket;
    server.didConnect = true;
    this.everConnected = true;
    this.pingsOut = 0;
    this.applyGossip(this.serverInfo);
    let lines = '';
    for (const sub of this.subs.values()) {
      // A sub whose drain was under way is finished, not resubscribed.
      if (sub.limitReached || sub.isDraining) continue;
      lines += subLine(sub.subject, sub.sid, sub.queue) + '\r\n';
      if (sub.max > 0) lines += unsubLine(sub.sid, sub.max - sub.delivered) + '\r\n';
    }
    if (lines) socket.write(lines);
    // PINGs kept from the lost connection go out again before ours: their PONGs come first.
    const stalePings = this.outbound.queuedPings;
    this.outbound.attach(socket);
    for (let i = 0; i < stalePings; i++) this.pongs.push(() => undefined);
    // One PING after the replay: its PONG answers flushes made while disconnected and proves
    // the server accepted us past the handshake (a fatal -ERR can follow the handshake PONG).
    const waiters = this.deferredPongs;
    this.deferredPongs = [];
    this.pongs.push((err) => {
      // Only a connection that answered a PING after its handshake resets the failure counts,
      // so a server that refuses us right after the handshake cannot cause a reconnect storm.
      if (!err) {
        server.authFailures = 0;
        server.reconnects = 0;
      }
      waiters.forEach((w) => w(err));
    });
    this.ping();
    this.startPings();
    if (this.state !== 'draining') this.transition('connected');
    const url = displayUrl(server);
    if (isReconnect) {
      this.counters.reconnects++;
      this.emit({ type: 'reconnect', server: url });
    } else {
      this.emit({ type: 'connect', server: url });
    }
  }

  private socketClosed(socket: NatsSocket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.parser = null;
    this.outbound.detach();
    this.stopPings();
    // PINGs written to the dead socket will never be answered: ask again after the reconnect.
    const lost = this.pongs;
    this.pongs = [];
    this.deferredPongs.unshift(...lost);
    if (this.handshake) {
      this.handshake.fail(
        this.lastError ?? new ConnectionError('connection closed during handshake'),
      );
      return;
    }
    if (this.state === 'closed') return;
    const current = this.pool.current;
    if (current && this.lastError instanceof AuthorizationError) this.countAuthFailure(current);
    const server = current ? displayUrl(current) : '';
    this.emit({ type: 'disconnect', server, error: this.lastError });
    if (!this.opts.reconnect || this.state === 'draining') {
      void this.shutdown(this.lastError ?? new ConnectionError('connection lost'));
      return;
    }
    this.transition('reconnecting');
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    let attempt = 0;
    // A connection lost before its server answered the PING after the handshake was most
    // likely refused for something we sent (a replayed subscription, a buffered frame): wait
    // before trying again, or a refusal that repeats would reconnect in a tight loop.
    const unconfirmed = this.pool.current !== undefined && this.pool.current.reconnects > 0;
    if (unconfirmed) await this.sleep(this.reconnectDelay(0));
    while (this.state === 'reconnecting') {
      const pass = this.pool.servers.length;
      for (let i = 0; i < pass && this.state === 'reconnecting'; i++) {
        const server = this.pool.next() as ServerEntry;
        const max = this.opts.maxReconnectAttempts;
        if (max >= 0 && server.reconnects >= max) {
          this.pool.remove(server);
          continue;
        }
        server.reconnects++;
        this.emit({ type: 'reconnecting', attempt: ++attempt });
        try {
          await this.attempt(server);
          if (this.state !== 'reconnecting') {
            this.socket?.destroy();
            return;
          }
          this.connected(server, this.everConnected);
          return;
        } catch (err) {
          this.lastError = err as Error;
          if (err instanceof AuthorizationError) this.countAuthFailure(server);
        }
      }
      if (this.state !== 'reconnecting') return;
      if (this.pool.servers.length === 0) {
        await this.shutdown(
          this.lastError ?? new ConnectionError('no servers left to reconnect to'),
        );
        return;
      }
      await this.sleep(this.reconnectDelay(attempt));
    }
  }

  /** The same credentials fail the same way: two refusals in a row drop the server. */
  private countAuthFailure(server: ServerEntry): void {
    server.authFailures = (server.authFailures ?? 0) + 1;
    if (server.authFailures >= 2) this.pool.remove(server);
  }

  private reconnectDelay(attempt: number): number {
    if (this.opts.reconnectDelayHandler) return this.opts.reconnectDelayHandler(attempt);
    const tls = this.pool.current?.tls || Boolean(this.opts.tls);
    const jitter = tls ? this.opts.reconnectJitterTls : this.opts.reconnectJitter;
    return this.opts.reconnectTimeWait + Math.random() * jitter;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeReconnect = done;
    });
  }

  private applyGossip(info: ServerInfo): void {
    if (this.opts.ignoreClusterUpdates || !info.connect_urls?.length) return;
    const added = this.pool.update(info.connect_urls, this.pool.current?.tls ?? false);
    if (added.length) this.emit({ type: 'discoveredServers', servers: added });
  }

  // ---- keepalive --------------------------------------------------------------------------

  private startPings(): void {
    this.stopPings();
    if (this.opts.pingInterval <= 0) return;
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (socket === null || !this.outbound.connected) return;
      if (this.pingsOut >= this.opts.maxPingsOut) {
        this.lastError = new ConnectionError(`stale connection: ${this.pingsOut} PINGs unanswered`);
        socket.destroy();
        return;
      }
      this.pingsOut++;
      this.pongs.push(() => undefined);
      this.ping();
    }, this.opts.pingInterval);
  }

  /** Sends a PING behind everything encoded before it, so its PONG vouches for all of that. */
  private ping(): void {
    encodeLine(this.outbound, 'PING');
    this.outbound.flush(true);
  }

  private stopPings(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  // ---- errors, drain, close ---------------------------------------------------------------

  private permissionViolation(err: PermissionViolationError): void {
    if (err.operation === 'subscription') {
      for (const sub of this.subs.values()) {
        if (sub.subject === err.subject && (err.queue === undefined || sub.queue === err.queue)) {
          this.subs.delete(sub.sid);
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
    this.reportError(err);
  }

  private get drainingPubs(): boolean {
    return this.drainPhase === 'pubs';
  }

  /**
   * Drains subscriptions, then waits for async callbacks still running (unless drain() was
   * called from a callback, which would wait for itself) so their replies and publishes go
   * out, then for requests in flight, then flushes; all within `drainTimeout`.
   */
  private async runDrain(waitCallbacks: boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.opts.drainTimeout)),
    );
    const work = (async () => {
      this.drainPhase = 'subs';
      const subs = [...this.subs.values()].filter((s) => s !== this.muxSub);
      await Promise.all(subs.map((s) => s.drain()));
      if (waitCallbacks) await this.callbacks.settle(this.opts.drainTimeout);
      // Requests in flight get their replies (or their own timeouts) before the inbox goes.
      if (this.mux) await this.mux.whenIdle();
      if (this.muxSub) await this.muxSub.drain();
      this.drainPhase = 'pubs';
      await this.flush();
    })();
    const outcome = await Promise.race([work.then(() => 'done' as const), timeout]).catch(
      (err: Error) => err,
    );
    clearTimeout(timer);
    let err: Error | undefined;
    if (outcome === 'timeout') {
      err = new TimeoutError(`drain did not finish within ${this.opts.drainTimeout} ms`);
      this.reportError(err as TimeoutError);
    } else if (outcome instanceof Error) {
      err = outcome;
    }
    // After a timeout the server is not taking bytes: do not spend another second on them.
    await this.shutdown(err, outcome === 'timeout' ? 100 : undefined);
  }

  private async shutdown(err: Error | undefined, endGraceMs?: number): Promise<void> {
    if (this.state === 'closed') {
      await this.closedPromise;
      return;
    }
    this.transition('closed');
    this.stopPings();
    this.wakeReconnect?.();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      this.outbound.flushAll();
      await endSocket(socket, endGraceMs);
    }
    this.outbound.clear();
    const closedErr = new ConnectionClosedError(
      'connection closed',
      err ? { cause: err } : undefined,
    );
    this.mux?.failAll(closedErr);
    for (const w of [...this.pongs, ...this.deferredPongs]) w(closedErr);
    this.pongs = [];
    this.deferredPongs = [];
    for (const sub of this.subs.values()) sub.close(err);
    this.subs.clear();
    this.emit({ type: 'close', error: err });
    this.events.end();
    this.resolveClosed(err);
  }

  // ---- helpers ----------------------------------------------------------------------------

  private ensureMux(): MuxInbox {
    if (this.mux === null) {
      const mux = new MuxInbox(`${this.newInbox()}.`);
      this.muxSub = this.subscribe(mux.subject, { callback: (m) => mux.dispatch(m) });
      this.mux = mux;
    }
    return this.mux;
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new ConnectionClosedError();
    if (this.state === 'draining') throw new ConnectionDrainingError();
  }

  private transition(next: ConnectionState): void {
    this.state = next;
  }

  private emit(status: Status): void {
    notifyCallbacks(this.opts, status);
    this.events.emit(status);
  }
}

/** Connects to NATS. Rejects with `ConnectionError`, `AuthorizationError` or `InvalidOptionError`. */
export function connect(opts?: ConnectOptions): Promise<NatsConnection> {
  return NatsConnection.connect(opts);
}
