import { AuthorizationError, ConnectionError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { ServerEntry, ServerPool } from '../servers.js';
import type { ConnectionStateMachine } from './state.js';

/** What connecting needs from the protocol handler. */
export interface ConnectorLink {
  /** One handshake with `server`; resolves once the server answered, rejects otherwise. */
  attempt(server: ServerEntry): Promise<void>;
  /** The handshake with `server` succeeded: replay, then move to `connected`. */
  connected(server: ServerEntry): void;
  /** Drops the socket of a handshake that succeeded after the connection stopped wanting it. */
  abandon(): void;
  shutdown(err: Error): Promise<void>;
  /** Why the last attempt or connection failed. */
  lastError: Error | undefined;
}

/**
 * The first connect and the reconnect loop: which server to try next, how long to wait, when
 * to give a server up (its attempts spent, or refused twice for authorization).
 */
export class Connector {
  private wake: (() => void) | undefined;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly pool: ServerPool,
    private readonly machine: ConnectionStateMachine,
    private readonly link: ConnectorLink,
  ) {}

  /** Connects to the first server that answers; with waitOnFirstConnect, keeps trying instead. */
  async first(): Promise<void> {
    let lastErr: Error | undefined;
    for (let i = 0; i < this.pool.servers.length; i++) {
      const server = this.pool.next() as ServerEntry;
      try {
        await this.link.attempt(server);
        this.link.connected(server);
        return;
      } catch (err) {
        lastErr = err as Error;
        if (err instanceof AuthorizationError) break;
      }
    }
    if (this.opts.waitOnFirstConnect && !(lastErr instanceof AuthorizationError)) {
      this.machine.transition('reconnecting');
      void this.loop();
      return;
    }
    this.machine.transition('closed', { error: lastErr });
    throw lastErr ?? new ConnectionError('no servers to connect to');
  }

  /** Tries the servers in turn, with a delay after each pass, while the phase is reconnecting. */
  async loop(): Promise<void> {
    const m = this.machine;
    let attempt = 0;
    // A connection lost before its server answered the PING after the handshake was most
    // likely refused for something we sent (a replayed subscription, a buffered frame): wait
    // before trying again, or a refusal that repeats would reconnect in a tight loop.
    const unconfirmed = this.pool.current !== undefined && this.pool.current.reconnects > 0;
    if (unconfirmed) await this.sleep(this.delay(0));
    while (m.phase === 'reconnecting') {
      const pass = this.pool.servers.length;
      for (let i = 0; i < pass && m.phase === 'reconnecting'; i++) {
        const server = this.pool.next() as ServerEntry;
        const max = this.opts.maxReconnectAttempts;
        if (max >= 0 && server.reconnects >= max) {
          this.pool.remove(server);
          continue;
        }
        server.reconnects++;
        m.announce({ type: 'reconnecting', attempt: ++attempt });
        try {
          await this.link.attempt(server);
          if (m.phase !== 'reconnecting') {
            this.link.abandon();
            return;
          }
          this.link.connected(server);
          return;
        } catch (err) {
          this.link.lastError = err as Error;
          if (err instanceof AuthorizationError) this.countAuthFailure(server);
        }
      }
      if (m.phase !== 'reconnecting') return;
      if (this.pool.servers.length === 0) {
        await this.link.shutdown(
          this.link.lastError ?? new ConnectionError('no servers left to reconnect to'),
        );
        return;
      }
      await this.sleep(this.delay(attempt));
    }
  }

  /** The same credentials fail the same way: two refusals in a row drop the server. */
  countAuthFailure(server: ServerEntry): void {
    server.authFailures = (server.authFailures ?? 0) + 1;
    if (server.authFailures >= 2) this.pool.remove(server);
  }

  /** Ends the wait between passes at once (on close). */
  wakeUp(): void {
    this.wake?.();
  }

  private delay(attempt: number): number {
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
      this.wake = done;
    });
  }
}
