/** How an `IdleMonitor` watches one consumer. */
export interface IdleMonitorOptions {
  /** Milliseconds between checks (the heartbeat interval). */
  interval: number;
  /** Checks in a row without traffic that count as a miss. */
  misses: number;
  /**
   * Called on a miss; returns false when it counted nothing (it looked closer and found life).
   * The silence count starts over after it.
   */
  onIdle(): boolean | void;
  /** Called on a check that found traffic. */
  onAlive?(): void;
  /** True while silence is expected (disconnected, being recreated): checks then count nothing. */
  paused?(): boolean;
  /** Traffic the consumer counts itself (for instance a subscription's delivered count). */
  activity?(): number;
}

/**
 * The idle-heartbeat watch of a consumer. A message or heartbeat calls `alive()`, which only sets
 * a flag; a timer (unref'd) checks the flag every `interval` ms, so `misses` silent checks in a
 * row mean no traffic for more than `misses` intervals, as a timestamp would, at no cost per
 * message.
 */
export class IdleMonitor {
  private heard = false;
  private silent = 0;
  private missedCount = 0;
  private lastActivity = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: IdleMonitorOptions) {
    this.timer = setInterval(() => this.check(), opts.interval).unref();
  }

  /** How many misses were counted. */
  get missed(): number {
    return this.missedCount;
  }

  /** Records traffic. */
  alive(): void {
    this.heard = true;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const activity = this.opts.activity?.() ?? 0;
    if (this.heard || activity !== this.lastActivity || this.opts.paused?.() === true) {
      this.heard = false;
      this.lastActivity = activity;
      this.silent = 0;
      this.opts.onAlive?.();
      return;
    }
    if (++this.silent < this.opts.misses) return;
    this.silent = 0;
    if (this.opts.onIdle() !== false) this.missedCount++;
  }
}
