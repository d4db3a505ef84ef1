import { InFlight } from '../../core/internal.js';
import type { JetStreamManager } from '../../jetstream/internal.js';
import { EXCLUSIVE_GROUP } from './exclusive.js';
import { JetStreamWorker, type JetStreamWorkerOptions } from './jetstream-worker.js';

/** Tracks a handler's messages here and in the transport's `InFlight` (for its `close()`). */
class TeeInFlight extends InFlight {
  constructor(private readonly parent: InFlight) {
    super();
  }

  override track(p: Promise<unknown>): void {
    super.track(p);
    this.parent.track(p);
  }
}

// A handler still running this long after its worker stopped is left to its ack wait.
const RELEASE_WAIT = 60_000;

/**
 * The worker of an exclusive handler (or of one partition). Stopping it hands the pin over at
 * once: it stops pulling, lets the message in progress settle, and then, if it held the pin,
 * unpins the consumer, so a standby's waiting pull is pinned now rather than after
 * `priorityTimeout`. Unpinning only after the message settled keeps the handover in order.
 */
export class PinnedWorker {
  private readonly worker: JetStreamWorker;
  private readonly inFlight: TeeInFlight;

  constructor(
    o: JetStreamWorkerOptions,
    private readonly jsm: JetStreamManager,
  ) {
    this.inFlight = new TeeInFlight(o.inFlight);
    this.worker = new JetStreamWorker({ ...o, inFlight: this.inFlight });
    this.stream = o.options.stream;
    this.durable = o.options.durable;
  }

  private readonly stream: string;
  private readonly durable: string;

  /** Whether this instance's pulls hold the pin now. */
  get pinned(): boolean {
    return this.worker.pinned;
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  /** Stops pulling; settles once the pin (if held) was handed back. */
  async stop(): Promise<void> {
    this.worker.stop();
    if (!(await this.inFlight.settle(RELEASE_WAIT))) return;
    // Read after the last message settled: a standby never held it, and must not unpin the
    // instance that does.
    if (!this.worker.pinned) return;
    await this.jsm.consumers
      .unpin(this.stream, this.durable, EXCLUSIVE_GROUP)
      .catch(() => undefined);
  }
}
