/** An outstanding pull request: what it may still deliver, and how long it has been silent. */
interface Pull {
  msgs: number;
  bytes: number;
  /** Heartbeat checks since it was last heard of (-1: heard since the last check). */
  silent: number;
  /** Messages counted against it so far. */
  received: number;
  /** When it was sent (`performance.now()`), for its `receive` span. */
  sent: number;
}

/** A pull that is over: what it asked for and brought (for its `receive` span). */
export interface EndedPull {
  batch: number;
  received: number;
  sent: number;
}

/**
 * What each outstanding pull of a `consume()` may still deliver, by its reply subject, in the
 * order the server serves them: a status (on the pull's own subject) ends only the pull it
 * answers, and a pull is alive while it hears from the server.
 */
export class PullLedger {
  private readonly pulls = new Map<string, Pull>();

  /**
   * `byteBudget`: pulls carry a byte budget (consume's `maxBytes`), and end once it is spent.
   * `ended` hears of every pull that is over, however it ended.
   */
  constructor(
    private readonly byteBudget: boolean,
    private readonly ended?: (pull: EndedPull) => void,
  ) {}

  /** Messages the outstanding pulls may still deliver. */
  get msgs(): number {
    let n = 0;
    for (const p of this.pulls.values()) n += p.msgs;
    return n;
  }

  /** Bytes of the budget the outstanding pulls may still fill. */
  get bytes(): number {
    let n = 0;
    for (const p of this.pulls.values()) n += p.bytes;
    return n;
  }

  /** A pull was sent on `reply`. */
  add(reply: string, msgs: number, bytes: number): void {
    const sent = this.ended === undefined ? 0 : performance.now();
    this.pulls.set(reply, { msgs, bytes, silent: -1, received: 0, sent });
  }

  /** A status other than a heartbeat answered the pull on `reply`: it is over. */
  end(reply: string): void {
    const pull = this.pulls.get(reply);
    if (pull !== undefined) this.over(reply, pull);
  }

  private over(reply: string, pull: Pull): void {
    this.pulls.delete(reply);
    const batch = pull.msgs + pull.received;
    this.ended?.({ batch, received: pull.received, sent: pull.sent });
  }

  /** The server sent a heartbeat for the pull on `reply`. */
  heard(reply: string): void {
    const pull = this.pulls.get(reply);
    if (pull !== undefined) pull.silent = -1;
  }

  /** Counts every pull as ended (the server forgot them: restart, reconnect). */
  clear(): void {
    for (const [reply, pull] of this.pulls) this.over(reply, pull);
  }

  /**
   * A message carries the stream's subject, not the reply of the pull it answers: it is counted
   * against the pull the server serves next. The server serves its waiting pulls round-robin
   * (each delivery moves that pull to the back of the queue; nats-server `waitQueue.pop`), and
   * ours reach it in the order they were sent, so the same rotation over our pulls, in sending
   * order, follows it.
   */
  delivered(size: number): void {
    const first = this.pulls.entries().next();
    if (first.done) return;
    const [reply, pull] = first.value;
    this.pulls.delete(reply);
    pull.msgs--;
    pull.received++;
    pull.bytes = Math.max(0, pull.bytes - size);
    // A pull with a byte budget ends once the budget is spent, like on the server.
    const spent = this.byteBudget && pull.bytes === 0;
    if (pull.msgs > 0 && !spent) this.pulls.set(reply, pull);
    else
      this.ended?.({ batch: pull.msgs + pull.received, received: pull.received, sent: pull.sent });
  }

  /** A heartbeat check found messages flowing (the server then sends no heartbeats): all live. */
  allAlive(): void {
    for (const pull of this.pulls.values()) pull.silent = 0;
  }

  /**
   * A heartbeat check found no message: a pull silent for two checks after the one that last
   * heard of it (more than two heartbeats) is gone and counted as ended. True when one was.
   */
  expire(): boolean {
    let expired = false;
    for (const [reply, pull] of this.pulls) {
      if (++pull.silent < 2) continue;
      this.over(reply, pull);
      expired = true;
    }
    return expired;
  }
}
