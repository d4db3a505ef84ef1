import { ConnectionError } from '../errors.js';
import { encodeLine } from '../protocol/encoder.js';
import type { Outbound } from '../transport/outbound.js';

/** Called with the PONG that answers a PING, or with the error that means it never will. */
export type PongWaiter = (err?: Error) => void;

/**
 * PINGs and their PONGs: flushes (a PING whose PONG vouches for everything sent before it), the
 * keep-alive timer and its stale-connection check. PONGs come back in PING order, so waiters
 * are a queue.
 */
export class KeepAlive {
  private pongs: PongWaiter[] = [];
  // Flushes asked for while disconnected, answered by one PING after the reconnect.
  private deferred: PongWaiter[] = [];
  private pingsOut = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly outbound: Outbound,
    private readonly interval: number,
    private readonly maxPingsOut: number,
    /** Called when `maxPingsOut` PINGs went unanswered: the connection is stale. */
    private readonly onStale: (err: ConnectionError) => void,
  ) {}

  /** Resolves when the server has processed everything sent so far; waits for a reconnect. */
  flush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: PongWaiter = (err) => (err ? reject(err) : resolve());
      if (!this.outbound.connected) {
        this.deferred.push(waiter);
        return;
      }
      this.pongs.push(waiter);
      this.ping();
    });
  }

  /** A PONG arrived. */
  pong(): void {
    this.pingsOut = 0;
    this.pongs.shift()?.();
  }

  /**
   * A socket is up: `stalePings` PINGs kept from the lost one go out again first (their PONGs
   * come first), then one PING whose PONG answers the flushes made while disconnected and
   * `confirmed`, then the timer starts.
   */
  resume(stalePings: number, confirmed: PongWaiter): void {
    this.pingsOut = 0;
    for (let i = 0; i < stalePings; i++) this.pongs.push(() => undefined);
    const waiters = this.deferred;
    this.deferred = [];
    this.pongs.push((err) => {
      confirmed(err);
      waiters.forEach((w) => w(err));
    });
    this.ping();
    this.start();
  }

  /** The socket is gone: PINGs written to it will never be answered, ask again after a reconnect. */
  lost(): void {
    this.stop();
    const lost = this.pongs;
    this.pongs = [];
    this.deferred.unshift(...lost);
  }

  /** Fails every waiter (on close). */
  failAll(err: Error): void {
    this.stop();
    for (const w of [...this.pongs, ...this.deferred]) w(err);
    this.pongs = [];
    this.deferred = [];
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    this.stop();
    if (this.interval <= 0) return;
    this.timer = setInterval(() => {
      if (!this.outbound.connected) return;
      if (this.pingsOut >= this.maxPingsOut) {
        this.onStale(new ConnectionError(`stale connection: ${this.pingsOut} PINGs unanswered`));
        return;
      }
      this.pingsOut++;
      this.pongs.push(() => undefined);
      this.ping();
    }, this.interval);
  }

  /** Sends a PING behind everything encoded before it, so its PONG vouches for all of that. */
  private ping(): void {
    encodeLine(this.outbound, 'PING');
    this.outbound.flush(true);
  }
}
