/** What a reader of a `MsgQueue` does with the items (one object per reader, not per item). */
export interface ReadHooks<T> {
  /**
   * Called with each item a reader takes, `queued` false when it was handed over as it came; an
   * item it returns false for is not yielded.
   */
  taken?(item: T, queued: boolean): boolean;
  /** Checked before each item: true ends this reader early (the queue goes on). */
  done?(): boolean;
  /** Runs when the reader ends for any reason (end of queue, `break`, error). */
  exit?(): void;
  /** Thrown by the first `next()` instead of reading (the queue cannot be read this way). */
  refused?: Error;
}

/**
 * The queue behind every consumer that can be read with `for await`: a FIFO with head-indexed
 * reads, readers waiting in order, and optional byte accounting. An item pushed while a reader
 * waits is handed to it directly (it never enters the array). Items are objects or strings, so
 * `undefined` can mean "none".
 */
export class MsgQueue<T extends object | string> {
  private items: T[] = [];
  private head = 0;
  // Sizes of the queued items, parallel to `items` (only for a queue that counts bytes).
  private sizes: number[] | undefined;
  private held = 0;
  // Readers waiting for an item; null asks them to look at the queue's state again.
  private waiters: ((item: T | null) => void)[] = [];
  private ended = false;
  private endError: Error | undefined;

  /** `sized`: the queue keeps the size given to each `push()` and counts them in `bytes`. */
  constructor(sized = false) {
    if (sized) this.sizes = [];
  }

  /** Items queued and not read yet. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Sum of the sizes of the queued items (sized queues only). */
  get bytes(): number {
    return this.held;
  }

  /** True while a reader is waiting: the next `push()` goes straight to it. */
  get hasWaiter(): boolean {
    return this.waiters.length > 0;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Hands `item` to the first waiting reader, or queues it. Returns true when it was queued. */
  push(item: T, size = 0): boolean {
    if (this.waiters.length > 0) {
      this.waiters.shift()!(item);
      return false;
    }
    this.items.push(item);
    if (this.sizes !== undefined) {
      this.sizes.push(size);
      this.held += size;
    }
    return true;
  }

  /** The oldest queued item, removed, or undefined when none is queued. */
  take(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const i = this.head++;
    const item = this.items[i];
    this.items[i] = undefined as unknown as T; // read: let it be collected
    if (this.sizes !== undefined) this.held -= this.sizes[i];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      if (this.sizes !== undefined) this.sizes = [];
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      if (this.sizes !== undefined) this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes every queued item and returns them, oldest first. */
  clear(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    if (this.sizes !== undefined) this.sizes = [];
    this.held = 0;
    return all;
  }

  /** Calls `fn` for each queued item, oldest first, until it returns false. */
  forEach(fn: (item: T) => boolean): void {
    for (let i = this.head; i < this.items.length; i++) if (!fn(this.items[i])) return;
  }

  /** Registers a reader; it is called once, with an item or null ("look again"). */
  wait(waiter: (item: T | null) => void): void {
    this.waiters.push(waiter);
  }

  /** Withdraws a waiting reader (its time limit passed). */
  unwait(waiter: (item: T | null) => void): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Wakes every waiting reader without an item, so it checks its end condition again. */
  wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(null);
  }

  /**
   * No more items will come: readers end once the queue is empty, the ones reading with
   * `read()` with `err` when given. Queued items stay readable (`clear()` them to drop them).
   */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = err;
    this.wake();
  }

  /**
   * Yields the items until the queue has ended and is empty (then throws the end error, if any)
   * or `hooks.done()` holds. Costs one promise per wait, none per item that was queued.
   */
  async *read(hooks: ReadHooks<T> = {}): AsyncGenerator<T> {
    if (hooks.refused) throw hooks.refused;
    try {
      for (;;) {
        if (hooks.done?.()) return;
        let item = this.take();
        const queued = item !== undefined;
        if (item === undefined) {
          if (this.ended) {
            if (this.endError) throw this.endError;
            return;
          }
          const next = await new Promise<T | null>((resolve) => this.waiters.push(resolve));
          if (next === null) continue;
          item = next;
        }
        if (hooks.taken === undefined || hooks.taken(item, queued)) yield item;
      }
    } finally {
      hooks.exit?.();
    }
  }
}
