/** An entry of a `DeadlineQueue`: settled entries stay in place until the queue skips them. */
export interface Deadlined {
  /** `performance.now()` after which it expires. */
  readonly deadline: number;
  settled: boolean;
}

const MIN_SLOTS = 16;

/**
 * Entries that share one timeout, in insertion order, which is also deadline order, in a ring
 * that allocates nothing per entry once it has grown (a Map's insert and delete cost more per
 * request than the rest of a request's bookkeeping). Settling an entry only marks it: the ring
 * skips marked entries at its head, which is where requests mostly settle, and squeezes out
 * the others when it fills up, before it grows.
 */
export class DeadlineQueue<T extends Deadlined> {
  private slots: Array<T | undefined> = new Array<T | undefined>(MIN_SLOTS);
  private head = 0;
  /** Slots in use from `head`: live entries plus settled ones not skipped yet. */
  private used = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(entry: T): void {
    if (this.used === this.slots.length) this.makeRoom();
    this.slots[(this.head + this.used) & (this.slots.length - 1)] = entry;
    this.used++;
    this.live++;
  }

  /** Call after marking `entry` settled. */
  settled(): void {
    this.live--;
    const slots = this.slots;
    const mask = slots.length - 1;
    while (this.used > 0 && slots[this.head]!.settled) {
      slots[this.head] = undefined;
      this.head = (this.head + 1) & mask;
      this.used--;
    }
  }

  /** The first entry not settled yet, or undefined. */
  first(): T | undefined {
    return this.used > 0 ? this.slots[this.head] : undefined;
  }

  /** Full: drops the settled entries, into a ring twice as large when most are live. */
  private makeRoom(): void {
    const old = this.slots;
    const mask = old.length - 1;
    const size = this.live > old.length / 2 ? old.length * 2 : old.length;
    const slots = new Array<T | undefined>(size);
    let n = 0;
    for (let i = 0; i < this.used; i++) {
      const entry = old[(this.head + i) & mask]!;
      if (!entry.settled) slots[n++] = entry;
    }
    this.slots = slots;
    this.head = 0;
    this.used = n;
  }
}
