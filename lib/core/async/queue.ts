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
  private error: Error | undefined;

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

  /** The error the queue ended with, if any. */
  get endError(): Error | undefined {
    return this.error;
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
    this.error = err;
    this.wake();
  }

  /**
   * Yields the items until the queue has ended and is empty (then throws the end error, if any)
   * or `hooks.done()` holds.
   */
  read(hooks: ReadHooks<T> = {}): AsyncGenerator<T> {
    return new QueueReader(this, hooks);
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * One reader of a `MsgQueue`. Written by hand rather than as an async generator: a generator
 * costs several promise turns per item, this costs one already-resolved promise per queued item,
 * which is most of what a `for await` loop over a busy subscription spends.
 */
class QueueReader<T extends object | string> implements AsyncGenerator<T> {
  private finished = false;
  // The waiter of a next() that found the queue empty, withdrawn if the reader ends first.
  private waiter: ((item: T | null) => void) | undefined;

  constructor(
    private readonly queue: MsgQueue<T>,
    private readonly hooks: ReadHooks<T>,
  ) {}

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.finish();
    return Promise.resolve();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.resolve(DONE);
    if (this.hooks.refused) {
      this.finished = true; // refused before reading: `exit` does not run
      return Promise.reject(this.hooks.refused);
    }
    try {
      const result = this.poll();
      if (result !== undefined) return Promise.resolve(result);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => this.await(resolve, reject));
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(err: unknown): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }

  /** The next result without waiting, or undefined when the reader must wait for an item. */
  private poll(): IteratorResult<T> | undefined {
    for (;;) {
      if (this.hooks.done?.()) return this.finish();
      const item = this.queue.take();
      if (item === undefined) {
        if (!this.queue.isEnded) return undefined;
        const err = this.queue.endError;
        this.finish();
        if (err) throw err;
        return DONE;
      }
      if (this.hooks.taken === undefined || this.hooks.taken(item, true)) {
        return { done: false, value: item };
      }
    }
  }

  /** Waits for an item (or a wake-up to look again), then settles the pending next(). */
  private await(resolve: (r: IteratorResult<T>) => void, reject: (err: Error) => void): void {
    const waiter = (item: T | null): void => {
      this.waiter = undefined;
      if (this.finished) return resolve(DONE);
      if (item !== null && (this.hooks.taken === undefined || this.hooks.taken(item, false))) {
        return resolve({ done: false, value: item });
      }
      try {
        const result = this.poll();
        if (result !== undefined) return resolve(result);
      } catch (err) {
        return reject(err as Error);
      }
      this.await(resolve, reject);
    };
    this.waiter = waiter;
    this.queue.wait(waiter);
  }

  private finish(): IteratorReturnResult<undefined> {
    if (this.finished) return DONE;
    this.finished = true;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      // Withdrawn from the queue, then woken: finished, it settles its next() with done.
      this.queue.unwait(waiter);
      waiter(null);
    }
    this.hooks.exit?.();
    return DONE;
  }
}
