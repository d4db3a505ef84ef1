/** Tracks running handlers so a graceful shutdown can wait for them. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  get size(): number {
    return this.running.size;
  }

  track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Resolves true once everything running now has finished, false after `timeout` ms. */
  async settle(timeout: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), timeout)),
    );
    const done = Promise.allSettled([...this.running]).then(() => true as const);
    const result = await Promise.race([done, expired]);
    clearTimeout(timer);
    return result;
  }
}
