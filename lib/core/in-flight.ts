/** Tracks running handlers so a graceful shutdown can wait for them. */
export class InFlight {
  private count = 0;
  private idle: Array<() => void> = [];
  // One shared settle callback: tracking costs a counter and a then(), no per-handler closure.
  private readonly done = (): void => {
    if (--this.count > 0) return;
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  };

  get size(): number {
    return this.count;
  }

  track(p: Promise<unknown>): void {
    this.count++;
    p.then(this.done, this.done);
  }

  /** Counts a handler that will call `end()` when it finishes (no promise needed). */
  begin(): void {
    this.count++;
  }

  /** The handler counted by `begin()` finished. */
  readonly end = this.done;

  /** Resolves true once nothing is running, false after `timeout` ms. */
  async settle(timeout: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), timeout)),
    );
    const done = new Promise<true>((resolve) => this.idle.push(() => resolve(true)));
    const result = await Promise.race([done, expired]);
    clearTimeout(timer);
    return result;
  }
}
