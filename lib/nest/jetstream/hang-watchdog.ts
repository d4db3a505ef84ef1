// The hang watchdog of exclusive (pinned) handlers. A pinned instance whose handler never
// settles would keep pulling, and so keep the pin, while the transport's in-progress acks keep
// its message from ever being delivered again: nothing would take over. The watchdog gives each
// handler its `handlerTimeout` (default the ack wait; counted again from each `ctx.inProgress()`);
// past it, the instance hands the pin over (see `PinnedWorker`).
//
// It also notices an event loop that stood still (a frozen process, SIGSTOP, or one blocked by
// synchronous work) for more than half the ack wait: in-progress acks and pulls could not go
// out, so the server may have delivered what this instance holds to another one. A message
// started right after such a stall is skipped, unsettled, and the pin is handed over too.
import type { JsMsg } from '../../jetstream/internal.js';
import type { HandlerWatch } from '../context/jetstream.context.js';
import { describeMsg } from './failure-policy.js';

/** How a pinned worker follows one message, from its start to its handler's end. */
export interface MessageWatch extends HandlerWatch {
  /** Given up: another instance has the message now, so its late result is not settled. */
  readonly abandoned: boolean;
  /** The transport sent an in-progress ack: the server's ack wait starts again. */
  kept(): void;
  /** The handler settled (either way). */
  done(): void;
}

/** Why a pinned worker gives its pin up, and what it held. */
export interface Handover {
  /** For the log: what happened. */
  why: string;
  /**
   * The server cannot have delivered the message again yet: the worker gives it back (nak) and
   * unpins, so a standby is pinned at once and gets it. After a stall it does neither: what it
   * held may be another instance's already.
   */
  onTime: boolean;
  /** Gives the abandoned message back (a nak) when `onTime`. */
  giveBack(): void;
  /** Settles once the handler that was running settled (at once when none was). */
  settled: Promise<void>;
}

/** How long a handler may run, and how long the server waits for an ack. */
export interface HandlerBudget {
  /** From the handler's start or last `ctx.inProgress()`, ms. */
  handlerTimeout: number;
  /** From the message's delivery or last in-progress ack, ms. */
  ackWait: number;
}

/** When the watchdog of a message whose handler last made progress at `since` fires. */
export function hangDeadline(since: number, budget: HandlerBudget): number {
  // A little early: at the default timeout (the ack wait) the nak is then still this instance's.
  return since + budget.handlerTimeout - Math.min(100, budget.ackWait / 10);
}

/** The server cannot have delivered the message again: its ack wait has not run out. */
export function withinAckWait(now: number, since: number, ackWait: number): boolean {
  return now < since + ackWait;
}

/** An event loop that stood still this long may have let buffered messages time out. */
export function isStall(gap: number, ackWait: number): boolean {
  return gap > ackWait / 2;
}

/** How often the watchdog looks at the clock to notice a stall. */
export function tickEvery(ackWait: number): number {
  return Math.max(50, Math.min(500, Math.floor(ackWait / 8)));
}

const clock = (): number => performance.now();

/** One pinned worker's watchdog: the message in progress, and the event loop's stalls. */
export class HangWatchdog {
  private current: MessageRun | undefined;
  private lastTick = clock();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly budget: HandlerBudget,
    private readonly onHandover: (h: Handover) => void,
  ) {}

  private get ackWait(): number {
    return this.budget.ackWait;
  }

  start(): void {
    this.lastTick = clock();
    this.ticker ??= setInterval(() => this.checkStall(), tickEvery(this.ackWait)).unref();
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** A message starts: watched, or abandoned at once when the event loop just stood still. */
  watch(msg: JsMsg): MessageWatch {
    const stalled = this.checkStall();
    const run = new MessageRun(msg, this.budget, (h) => this.onHandover(h), stalled);
    if (!stalled) this.current = run;
    return run;
  }

  /** Hands over if the event loop stood still since the last look; true if it did. */
  private checkStall(): boolean {
    const now = clock();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (!isStall(gap, this.ackWait)) return false;
    const running = this.current?.abandon();
    this.onHandover({
      why:
        `the event loop stood still for ${Math.round(gap)} ms (process frozen or blocked; ack ` +
        `wait ${this.ackWait} ms): what it held may have gone to another instance`,
      onTime: false,
      giveBack: () => undefined,
      settled: running ?? Promise.resolve(),
    });
    return true;
  }
}

/** One message from its start to its handler's end. */
class MessageRun implements MessageWatch {
  // The handler's last sign of life, and the server's ack timer's last start.
  private since = clock();
  private refreshed = this.since;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor(
    private readonly msg: JsMsg,
    private readonly budget: HandlerBudget,
    private readonly onHandover: (h: Handover) => void,
    skipped: boolean,
  ) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
    if (skipped) {
      this.controller.abort();
      this.finish();
    } else this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get abandoned(): boolean {
    return this.signal.aborted;
  }

  progress(): void {
    if (!this.abandoned) this.since = this.refreshed = clock();
  }

  kept(): void {
    if (!this.abandoned) this.refreshed = clock();
  }

  done(): void {
    if (this.finished) return;
    // Its ack wait ran out while the event loop was busy: the server may have delivered it again.
    if (!this.abandoned && !withinAckWait(clock(), this.refreshed, this.budget.ackWait))
      this.hung();
    this.finish();
  }

  /** Gives the message up (unless its handler already settled); resolves once it settles. */
  abandon(): Promise<void> {
    if (!this.finished) this.controller.abort();
    clearTimeout(this.timer);
    return this.ended;
  }

  private finish(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.resolveEnded();
  }

  private arm(): void {
    const wait = hangDeadline(this.since, this.budget) - clock();
    this.timer = setTimeout(() => this.check(), Math.max(0, wait)).unref();
  }

  private check(): void {
    if (this.finished || this.abandoned) return;
    if (clock() < hangDeadline(this.since, this.budget)) return this.arm();
    this.hung();
  }

  private hung(): void {
    const now = clock();
    const onTime = withinAckWait(now, this.refreshed, this.budget.ackWait);
    void this.abandon();
    this.onHandover({
      why:
        `the handler has not settled ${describeMsg(this.msg)} ${Math.round(now - this.since)} ms ` +
        `after it started or last called inProgress() (handlerTimeout ${this.budget.handlerTimeout} ms)`,
      onTime,
      giveBack: () => {
        if (onTime) this.msg.nak();
      },
      settled: this.ended,
    });
  }
}
