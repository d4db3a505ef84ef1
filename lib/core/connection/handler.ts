import {
  ConnectionClosedError,
  ConnectionError,
  NatsError,
  PermissionViolationError,
  ProtocolError,
  TimeoutError,
} from '../errors.js';
import { Msg } from '../messages/msg.js';
import type { ResolvedOptions } from '../options.js';
import { classifyServerError, type ServerInfo } from '../protocol/handshake.js';
import { Parser, type ParserSink } from '../protocol/parser.js';
import type { Subscription } from '../subscriptions/subscription.js';
import { ServerPool, displayUrl, type ServerEntry } from '../servers.js';
import { Outbound } from '../transport/outbound.js';
import { endSocket } from '../transport/socket.js';
import type { Transport } from '../transport/transport.js';
import { Handshake, type HandshakeLink } from './handshake.js';
import { KeepAlive } from './keepalive.js';
import { DEFAULT_MAX_PAYLOAD, Publisher, type Stats } from './publisher.js';
import { Connector, type ConnectorLink } from './reconnect.js';
import { ConnectionStateMachine } from './state.js';
import { SubscriptionTable } from './subscriptions.js';

/**
 * The protocol side of a connection: it owns the socket and its parser, the subscriptions, the
 * outbound buffer, the handshake, PING/PONG, reconnecting and drain, and moves the state
 * machine. The `NatsConnection` facade validates and delegates here; nothing here calls back
 * into the facade.
 */
export class ProtocolHandler implements ParserSink, HandshakeLink, ConnectorLink {
  readonly machine: ConnectionStateMachine;
  readonly pool: ServerPool;
  readonly outbound: Outbound;
  readonly publisher: Publisher;
  readonly table: SubscriptionTable;
  readonly keepalive: KeepAlive;
  readonly counters: Stats = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, reconnects: 0 };
  /** The INFO of the server this connection is on (last known while reconnecting). */
  info: ServerInfo = {} as ServerInfo;
  lastError: Error | undefined;
  private readonly connector: Connector;
  // The table's map, read directly on the inbound hot path.
  private readonly subs: ReadonlyMap<number, Subscription>;
  private socket: Transport | null = null;
  private handshake: Handshake | null = null;
  // True while a subscription callback runs (its synchronous part).
  private dispatching = false;
  private drainPromise: Promise<void> | undefined;

  constructor(readonly opts: ResolvedOptions) {
    this.machine = new ConnectionStateMachine(opts);
    const urls = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
    this.pool = new ServerPool(urls, !opts.noRandomize);
    this.outbound = new Outbound(opts.writeHighWaterMark, opts.reconnectBufferSize);
    this.publisher = new Publisher(this.outbound, this.machine, this.counters, opts.maxControlLine);
    this.keepalive = new KeepAlive(this.outbound, opts.pingInterval, opts.maxPingsOut, (err) => {
      this.lastError = err;
      this.socket?.destroy();
    });
    this.table = new SubscriptionTable(
      this.outbound,
      { flush: () => this.flush(), reportError: (err) => this.reportError(err) },
      opts.inboxPrefix,
      opts.maxControlLine,
      this.publisher.longLine,
    );
    this.subs = this.table.bySid;
    this.connector = new Connector(opts, this.pool, this.machine, this);
  }

  // ---- what the facade and the upper layers read -------------------------------------------

  /** The URL of the current server, without credentials, or '' when disconnected. */
  get connectedUrl(): string {
    return this.machine.isConnected && this.pool.current ? displayUrl(this.pool.current) : '';
  }

  /**
   * True while a subscription callback runs (its synchronous part): a drain or stop asked for
   * from there must not wait for running callbacks, the caller being one of them.
   */
  get isDispatching(): boolean {
    return this.dispatching;
  }

  /** The drain budget, also used by services stopping. */
  get drainTimeout(): number {
    return this.opts.drainTimeout;
  }

  /** Reports an error that belongs to no call. */
  reportError(err: NatsError): void {
    this.machine.reportError(err);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** The first connect; see `Connector.first()`. */
  connect(): Promise<void> {
    return this.connector.first();
  }

  /** Resolves when the server has processed everything sent so far (a PING/PONG round trip). */
  flush(): Promise<void> {
    if (this.machine.isClosed) return Promise.reject(new ConnectionClosedError());
    return this.keepalive.flush();
  }

  /** Drains every subscription (the request inbox last), flushes, then closes. */
  drain(): Promise<void> {
    const m = this.machine;
    if (m.isClosed) return Promise.resolve();
    if (this.drainPromise) return this.drainPromise;
    if (m.phase !== 'connected') return this.shutdown(undefined);
    m.transition('draining');
    this.drainPromise = this.runDrain(!this.dispatching);
    return this.drainPromise;
  }

  /**
   * Drains subscriptions, then waits for async callbacks still running (unless drain() was
   * called from a callback, which would wait for itself) so their replies and publishes go
   * out, then for requests in flight, then flushes; all within `drainTimeout`.
   */
  private async runDrain(waitCallbacks: boolean): Promise<void> {
    const budget = this.opts.drainTimeout;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), budget)),
    );
    const work = (async () => {
      await this.table.drainAll(waitCallbacks, budget);
      if (this.machine.phase === 'draining') this.machine.transition('flushing');
      await this.flush();
    })();
    const outcome = await Promise.race([work.then(() => 'done' as const), timeout]).catch(
      (err: Error) => err,
    );
    clearTimeout(timer);
    let err: Error | undefined;
    if (outcome === 'timeout') {
      err = new TimeoutError(`drain did not finish within ${budget} ms`);
      this.reportError(err as TimeoutError);
    } else if (outcome instanceof Error) {
      err = outcome;
    }
    // After a timeout the server is not taking bytes: do not spend another second on them.
    await this.shutdown(err, outcome === 'timeout' ? 100 : undefined);
  }

  /** Closes: buffered publishes are written if connected, pending requests and flushes fail. */
  async shutdown(err: Error | undefined, endGraceMs?: number): Promise<void> {
    const m = this.machine;
    if (m.isClosed) {
      await m.closed;
      return;
    }
    m.transition('closing');
    this.keepalive.stop();
    this.connector.wakeUp();
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
    this.table.failRequests(closedErr);
    this.keepalive.failAll(closedErr);
    this.table.closeAll(err);
    m.transition('closed', { error: err });
  }

  // ---- connecting (ConnectorLink, HandshakeLink) -------------------------------------------

  async attempt(server: ServerEntry): Promise<void> {
    this.lastError = undefined;
    try {
      await Handshake.run(server, this.opts, this, (hs) => (this.handshake = hs));
    } finally {
      this.handshake = null;
    }
  }

  abandon(): void {
    this.socket?.destroy();
  }

  setInfo(info: ServerInfo): void {
    this.info = info;
    this.publisher.maxPayload = info.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  bind(socket: Transport): void {
    this.socket = socket;
    const parser = new Parser(this);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        parser.parse(chunk);
      } catch (err) {
        const e = err instanceof NatsError ? err : new ProtocolError(String(err));
        this.lastError = e;
        this.reportError(e);
        this.handshake?.fail(e);
        socket.destroy();
      }
    });
    socket.on('drain', () => this.outbound.drained());
    socket.on('error', (err) => {
      // A WebSocket reports its close status and frame errors as NatsErrors: kept as they are.
      if (this.socket === socket && !this.lastError)
        this.lastError =
          err instanceof NatsError
            ? err
            : new ConnectionError(`socket error: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.socketClosed(socket));
  }

  unbind(socket: Transport): void {
    if (this.socket === socket) this.socket = null;
  }

  /** The handshake succeeded: replay subscriptions, then buffered publishes, then flushes. */
  connected(server: ServerEntry): void {
    const socket = this.socket as Transport;
    server.didConnect = true;
    this.applyGossip(this.info);
    const lines = this.table.replayLines();
    if (lines) socket.write(lines);
    // PINGs kept from the lost connection go out again before ours: their PONGs come first.
    const stalePings = this.outbound.queuedPings;
    this.outbound.attach(socket);
    // The PING after the replay proves the server accepted us past the handshake (a fatal -ERR
    // can follow the handshake PONG). Only then are the failure counts reset, so a server that
    // refuses us right after the handshake cannot cause a reconnect storm.
    this.keepalive.resume(stalePings, (err) => {
      if (!err) {
        server.authFailures = 0;
        server.reconnects = 0;
      }
    });
    if (this.machine.everConnected) this.counters.reconnects++;
    this.machine.transition('connected', { server: displayUrl(server) });
  }

  private socketClosed(socket: Transport): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.outbound.detach();
    this.keepalive.lost();
    const hs = this.handshake;
    if (hs !== null && hs.active) {
      hs.fail(this.lastError ?? new ConnectionError('connection closed during handshake'));
      return;
    }
    const m = this.machine;
    if (m.isClosed) return;
    const current = this.pool.current;
    if (current) this.connector.countAuthFailure(current, this.lastError);
    const server = current ? displayUrl(current) : '';
    m.announce({ type: 'disconnect', server, error: this.lastError });
    if (!this.opts.reconnect || m.isDraining) {
      void this.shutdown(this.lastError ?? new ConnectionError('connection lost'));
      return;
    }
    m.transition('reconnecting');
    void this.connector.loop();
  }

  private applyGossip(info: ServerInfo): void {
    if (this.opts.ignoreClusterUpdates || !info.connect_urls?.length) return;
    const added = this.pool.update(info.connect_urls, this.pool.current?.scheme ?? 'nats');
    if (added.length) this.machine.announce({ type: 'discoveredServers', servers: added });
  }

  // ---- ParserSink --------------------------------------------------------------------------

  // Typed by the interface, so the parameter list is written once (there).
  readonly onMsg: ParserSink['onMsg'] = (subject, sid, reply, headers, payload) => {
    this.counters.inMsgs++;
    this.counters.inBytes += payload.length + (headers === null ? 0 : headers.length);
    const sub = this.subs.get(sid);
    if (sub === undefined) return;
    this.dispatching = true;
    sub.deliver(new Msg(subject, sid, reply, payload, headers, this.publisher));
    this.dispatching = false;
  };

  onInfo(raw: Record<string, unknown>): void {
    const next = raw as unknown as ServerInfo;
    const hs = this.handshake;
    if (hs !== null && hs.active) {
      hs.onInfo(next);
      return;
    }
    this.setInfo({ ...this.info, ...next });
    this.applyGossip(next);
    if (next.ldm === true) {
      this.machine.announce({ type: 'lameDuck', server: this.connectedUrl });
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

  onPing(): void {
    const socket = this.socket;
    if (socket && !socket.writableEnded) socket.write('PONG\r\n');
  }

  onPong(): void {
    const hs = this.handshake;
    if (hs !== null && hs.active) {
      hs.onPong();
      return;
    }
    this.keepalive.pong();
  }

  onOk(): void {}

  onErr(message: string): void {
    const err = classifyServerError(message);
    const hs = this.handshake;
    if (hs !== null && hs.active) {
      hs.fail(err);
      return;
    }
    if (err instanceof PermissionViolationError) {
      this.table.permissionViolation(err);
      this.reportError(err);
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
}
