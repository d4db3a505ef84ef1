import {
  AuthenticationExpiredError,
  AuthorizationError,
  ConnectionError,
  CredentialSupplierError,
} from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { askReconnectToServer, type ReconnectToServer } from '../server-choice.js';
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
 * The first connect and the reconnect loop: which server to try next (the pool's order, or the
 * user's `reconnectToServer`), how long to wait, when to give a server up (its attempts spent,
 * or refused twice in a row for authorization).
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
    if (this.opts.reconnectToServer) return this.chosenLoop(this.opts.reconnectToServer);
    while (m.phase === 'reconnecting') {
      const pass = this.pool.servers.length;
      for (let i = 0; i < pass && m.phase === 'reconnecting'; i++) {
        const server = this.pool.next() as ServerEntry;
        if (this.spent(server)) continue;
        if (await this.tryServer(server, ++attempt)) return;
      }
      if (m.phase !== 'reconnecting') return;
      if (await this.noneLeft()) return;
      await this.sleep(this.delay(attempt));
    }
  }

  /**
   * The loop with `reconnectToServer`: before each attempt the user picks the server and the
   * wait. Without a wait, attempts wait as the default loop does: after every pool-size of them.
   * An answer that cannot be used is reported and the pool's next server is tried instead.
   */
  private async chosenLoop(pick: ReconnectToServer): Promise<void> {
    const m = this.machine;
    let attempt = 0;
    while (m.phase === 'reconnecting') {
      for (const server of [...this.pool.servers]) this.spent(server);
      if (await this.noneLeft()) return;
      const choice = askReconnectToServer(pick, this.pool.servers, this.link.lastError);
      if (choice !== undefined && 'error' in choice) m.reportError(choice.error);
      const picked = choice !== undefined && 'server' in choice ? choice : undefined;
      const server = picked?.server ?? this.pool.next();
      if (server === undefined) return; // not reached: noneLeft() saw servers
      if (picked) this.pool.current = server;
      const pause = attempt > 0 && attempt % this.pool.servers.length === 0;
      const wait = picked?.delay ?? (pause ? this.delay(attempt) : 0);
      if (wait > 0) await this.sleep(wait);
      if (m.phase !== 'reconnecting') return;
      if (await this.tryServer(server, ++attempt)) return;
    }
  }

  /** Drops `server` from the pool when its reconnect attempts are spent. */
  private spent(server: ServerEntry): boolean {
    const max = this.opts.maxReconnectAttempts;
    if (max < 0 || server.reconnects < max) return false;
    this.pool.remove(server);
    return true;
  }

  /** Closes when the pool is empty (every server spent or refused); true if it did. */
  private async noneLeft(): Promise<boolean> {
    if (this.pool.servers.length > 0) return false;
    await this.link.shutdown(
      this.link.lastError ?? new ConnectionError('no servers left to reconnect to'),
    );
    return true;
  }

  /** One reconnect attempt; true when the loop is over (connected, or no longer wanted). */
  private async tryServer(server: ServerEntry, attempt: number): Promise<boolean> {
    const m = this.machine;
    server.reconnects++;
    m.announce({ type: 'reconnecting', attempt });
    try {
      await this.link.attempt(server);
      if (m.phase !== 'reconnecting') {
        this.link.abandon();
        return true;
      }
      this.link.connected(server);
      return true;
    } catch (err) {
      this.link.lastError = err as Error;
      // Nothing else tells the user why reconnects fail when it is their own supplier.
      if (err instanceof CredentialSupplierError) m.reportError(err);
      this.countAuthFailure(server, err);
      return false;
    }
  }

  /**
   * The same credentials fail the same way: two refusals in a row drop the server. Credentials
   * that expired on a confirmed connection (its PING answered, which resets `reconnects`) are
   * no refusal: they worked, and the reconnect asks the suppliers again. Credentials already
   * expired when sent (the server accepts them, then expires them at once) are one.
   */
  countAuthFailure(server: ServerEntry, err: unknown): void {
    if (!(err instanceof AuthorizationError)) return;
    if (err instanceof AuthenticationExpiredError && server.reconnects === 0) return;
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
