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
  settle(timeout: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return settlesWithin(new Promise<void>((resolve) => this.idle.push(resolve)), timeout);
  }
}

/** Resolves true when `work` settles (either way) within `ms`, false after that (it goes on). */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), false);
  });
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  const result = await Promise.race([settled, expired]);
  clearTimeout(timer);
  return result;
}
