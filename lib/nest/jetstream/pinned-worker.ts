import { InFlight } from '../../core/internal.js';
import type { JetStreamManager } from '../../jetstream/internal.js';
import { EXCLUSIVE_GROUP } from './exclusive.js';
import { HangWatchdog, type Handover } from './hang-watchdog.js';
import {
  JetStreamWorker,
  effectiveAckWait,
  type JetStreamWorkerOptions,
} from './jetstream-worker.js';

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
// Wait before trying again to pull as a standby after a handover, when that failed.
const REJOIN_RETRY = 1000;

/**
 * The worker of an exclusive handler (or of one partition). Stopping it hands the pin over at
 * once: it stops pulling, lets the message in progress settle, and then, if it held the pin,
 * unpins the consumer, so a standby's waiting pull is pinned now rather than after
 * `priorityTimeout`. Unpinning only after the message settled keeps the handover in order.
 *
 * A handler that hangs hands the pin over too (see `HangWatchdog`): past its `handlerTimeout`
 * (default the ack wait; counted again from each `ctx.inProgress()`) the worker
 * stops pulling, gives the message back and unpins, so a standby takes over at once with that
 * message; the hung handler's late result is never settled, and once it settles the worker
 * pulls again as a standby (one message at a time, always). After its event loop stood still
 * (a frozen process) it does the same without the nak and the unpin: the server may have moved
 * the pin and the message already.
 */
export class PinnedWorker {
  private worker: JetStreamWorker;
  private readonly inFlight: TeeInFlight;
  private readonly watchdog: HangWatchdog;
  private state: 'running' | 'handing-over' | 'stopped' = 'running';

  constructor(
    private readonly o: JetStreamWorkerOptions,
    private readonly jsm: JetStreamManager,
  ) {
    this.inFlight = new TeeInFlight(o.inFlight);
    const ackWait = effectiveAckWait(o.options);
    this.watchdog = new HangWatchdog(
      { ackWait, handlerTimeout: o.options.handlerTimeout ?? ackWait },
      (h) => this.handOver(h),
    );
    this.worker = this.newWorker();
    this.stream = o.options.stream;
    this.durable = o.options.durable;
  }

  private readonly stream: string;
  private readonly durable: string;

  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** Whether this instance's pulls hold the pin now. */
  get pinned(): boolean {
    return this.worker.pinned;
  }

  start(): Promise<void> {
    this.watchdog.start();
    return this.worker.start();
  }

  /** Stops pulling; settles once the pin (if held) was handed back. */
  async stop(): Promise<void> {
    // Mid-handover the pin was given up already: a standby may hold it now.
    const handingOver = this.state === 'handing-over';
    this.state = 'stopped';
    this.watchdog.stop();
    this.worker.stop();
    if (handingOver || !(await this.inFlight.settle(RELEASE_WAIT))) return;
    // Read after the last message settled: a standby never held it, and must not unpin the
    // instance that does.
    if (!this.worker.pinned) return;
    await this.unpin();
  }

  private newWorker(): JetStreamWorker {
    return new JetStreamWorker({
      ...this.o,
      inFlight: this.inFlight,
      watch: (msg) => this.watchdog.watch(msg),
    });
  }

  private unpin(): Promise<unknown> {
    return this.jsm.consumers
      .unpin(this.stream, this.durable, EXCLUSIVE_GROUP)
      .catch(() => undefined);
  }

  /** The handler hung, or the process stood still: let a standby take over. */
  private handOver(h: Handover): void {
    if (this.state !== 'running') return;
    this.state = 'handing-over';
    const where = `${this.stream}/${this.durable}`;
    if (h.onTime) this.o.log.error(`${where}: ${h.why}; handing the pin over to a standby`);
    else this.o.log.warn(`${where}: ${h.why}; handing the pin over, pulling again as a standby`);
    const wasPinned = this.worker.pinned;
    // Stop pulling first: the message given back must go to a standby, not to our own pull.
    this.worker.stop(h.onTime);
    h.giveBack();
    const unpinned = h.onTime && wasPinned ? this.unpin() : Promise.resolve();
    void Promise.all([unpinned, h.settled]).then(() => this.rejoin());
  }

  /** Pulls again, without a pin, once the hung handler settled: a standby like the others. */
  private async rejoin(): Promise<void> {
    while (this.state === 'handing-over') {
      const worker = (this.worker = this.newWorker());
      this.state = 'running';
      try {
        await worker.start();
        // Stopped while it started: the stop came before its pulls did.
        if (this.stopped) worker.stop();
        return;
      } catch (err) {
        if (this.stopped) return;
        this.o.log.error(err);
        this.state = 'handing-over';
        await new Promise((r) => setTimeout(r, REJOIN_RETRY).unref());
      }
    }
  }
}
