// The decisions of an ordered consumer, without I/O: which delivered message is in order, when a
// gap or a heartbeat forces the consumer to be recreated and where the new one starts
// (`OrderedSequence`), and whether a reset runs now, follows the running one or is ignored
// (`OrderedLifecycle`). `OrderedSubscription` (ordered.ts) does the subscribing and the API calls.
import { fail } from 'node:assert/strict';
import type { DeliverPolicy } from './consumer-config.js';
import type { JsMsgMetadata } from './jsmsg.js';

// Clustered servers stamp messages and consumers with their own clocks.
const CLOCK_SKEW_NS = 1_000_000_000n;

/** Where an incarnation of the consumer starts reading. */
export interface OrderedStart {
  deliverPolicy: DeliverPolicy;
  optStartSeq?: number;
  optStartTime?: string;
}

/** What `OrderedSequence.message()` reads of a delivered message (a `JsMsg` has it). */
export interface SequencedMsg {
  readonly metadata: Pick<JsMsgMetadata, 'sequence' | 'timestampNanos' | 'numPending'>;
  /** Read only for a message that may follow a purge skip (see `message()`). */
  readonly headers?: { get(name: string): string | undefined } | undefined;
}

/**
 * What to do with a delivered message: hand it on, recreate the consumer (`reset`: a gap, the
 * stream may have been recreated), or recreate it on the same stream right after the last message
 * seen (`reread`: a rollup that may have followed a purge skip).
 */
export type OrderedVerdict = 'deliver' | 'reset' | 'reread';

/**
 * The positions an ordered consumer tracks across its incarnations: the consumer sequence it
 * expects next (each incarnation starts at 1) and the last stream sequence it handed on, which is
 * where the next incarnation resumes.
 */
export class OrderedSequence {
  private expected = 1;
  private lastSseq = 0;
  /** Server timestamp (ns) of the last message seen, to tell a re-created stream apart. */
  private lastStamp = 0n;
  /** A rollup read again after it followed a gap: seeing it again after that gap is fine. */
  private rereadRollup = 0;
  /** 'snapshot' while a last-per-subject snapshot runs: its gaps are older values, left out. */
  private phase: 'snapshot' | 'live' = 'snapshot';
  /** When the current incarnation was created (ns since the epoch; 0 until the server said). */
  private createdNanos = 0n;
  /** The server has the purge skip (see `message()`); set per incarnation. */
  private purgeMaySkip = true;

  /** `configured`: where the first incarnation starts (the user's deliver policy). */
  constructor(private readonly configured: OrderedStart) {}

  /** The last stream sequence handed on (0: none yet, or the stream was recreated since). */
  get lastStreamSeq(): number {
    return this.lastSseq;
  }

  /** The consumer sequence the current incarnation must deliver next. */
  get nextConsumerSeq(): number {
    return this.expected;
  }

  /**
   * A new incarnation is created (on a server with the purge skip or not): where it starts. After
   * a message was handed on, right after it; before that, where the user asked. Every field is
   * set, to undefined when unused, so that it replaces all three in a consumer config.
   */
  begin(purgeMaySkip: boolean): OrderedStart {
    this.expected = 1;
    const start: OrderedStart =
      this.lastSseq > 0
        ? {
            deliverPolicy: 'by_start_sequence',
            optStartSeq: this.lastSseq + 1,
            optStartTime: undefined,
          }
        : { ...this.configured };
    this.phase = start.deliverPolicy === 'last_per_subject' ? 'snapshot' : 'live';
    this.createdNanos = 0n;
    this.purgeMaySkip = purgeMaySkip;
    return start;
  }

  /** The server created the incarnation `begin()` started, at `createdNanos`, with `numPending`. */
  created(createdNanos: bigint, numPending: number): void {
    this.createdNanos = createdNanos;
    if (numPending === 0) this.phase = 'live'; // no snapshot to deliver
  }

  /** Judges a delivered message; a message handed on (`deliver`) moves the positions past it. */
  message(msg: SequencedMsg): OrderedVerdict {
    const { sequence, timestampNanos, numPending } = msg.metadata;
    // A consumer reset (nats-server 2.14) sends delivery back to its consumer sequence 1 and
    // an earlier stream sequence; otherwise stream sequences only grow. Either is a gap.
    if (sequence.consumer !== this.expected || sequence.stream <= this.lastSseq) return 'reset';
    if (this.mayFollowSkip(msg)) return 'reread';
    this.expected++;
    this.lastSseq = sequence.stream;
    this.lastStamp = timestampNanos;
    if (numPending === 0) this.phase = 'live'; // a snapshot is over
    return 'deliver';
  }

  /**
   * A heartbeat with its `Nats-Last-Consumer` header: true when the consumer delivered more than
   * was received (messages were lost), which calls for a reset.
   */
  heartbeat(lastConsumer: string | undefined): boolean {
    const last = Number(lastConsumer ?? NaN);
    return Number.isFinite(last) && last > this.expected - 1;
  }

  /** The next incarnation resumes right after stream sequence `seq`. */
  restartAfter(seq: number): void {
    this.lastSseq = seq;
  }

  /** Whether a reset must ask when the stream was created (only once a message was seen). */
  get streamCheckable(): boolean {
    return this.lastSseq > 0;
  }

  /**
   * The stream was created at `createdNanos` (undefined: unknown). True when that is after the
   * last message seen was stored: the stream was deleted and made again, its sequences start
   * over, and the next incarnation starts where the user asked instead.
   */
  streamCreated(createdNanos: bigint | undefined): boolean {
    if (this.lastSseq === 0 || createdNanos === undefined || createdNanos <= this.lastStamp)
      return false;
    this.lastSseq = 0;
    this.rereadRollup = 0;
    return true;
  }

  /**
   * nats-server 2.9 moves every consumer whose filter covers a purged subject up to that
   * subject's first remaining message, skipping what it had not delivered yet on any subject.
   * After a rollup (KV purge, object metadata write) that message is the rollup itself, so a
   * rollup that follows a gap in stream sequences may have skipped messages: it is read again
   * from a consumer started right after the last message seen, once, which delivers whatever
   * was skipped first. A rollup stored well before this consumer was created (replaying
   * history) cannot have moved it. Filtered stream purges without a rollup are not caught.
   * Servers from 2.10 on do not skip, and there this costs nothing (no re-read, no reset).
   */
  private mayFollowSkip(msg: SequencedMsg): boolean {
    if (!this.purgeMaySkip) return false;
    const { sequence, timestampNanos } = msg.metadata;
    const seq = sequence.stream;
    if (this.phase === 'snapshot' || this.lastSseq === 0 || seq <= this.lastSseq + 1) return false;
    if (seq === this.rereadRollup || timestampNanos + CLOCK_SKEW_NS < this.createdNanos)
      return false;
    if (msg.headers?.get('Nats-Rollup') === undefined) return false;
    this.rereadRollup = seq;
    return true;
  }
}

/** Where an ordered consumer is: reading, recreating its consumer, or stopped for good. */
export type OrderedStateName = 'reading' | 'recreating' | 'stopped';

/**
 * The state, with what only a state has: while recreating, the reset asked for meanwhile, which
 * follows the running one (`check-stream` also asks whether the stream was recreated).
 */
export type OrderedState =
  | { readonly name: 'reading' }
  | { readonly name: 'recreating'; readonly then: 'none' | 'same-stream' | 'check-stream' }
  | { readonly name: 'stopped' };

/**
 * The moves allowed from each state. Any other is a bug in the client: it fails an assertion
 * (`AssertionError` from `node:assert`).
 */
export const ORDERED_MOVES: { readonly [S in OrderedStateName]: readonly OrderedStateName[] } = {
  reading: ['recreating', 'stopped'],
  recreating: ['reading', 'stopped'],
  stopped: [],
};

/** The state of an ordered consumer, and the decision whether a reset runs, waits or is ignored. */
export class OrderedLifecycle {
  private current: OrderedState = { name: 'reading' };
  private rounds = 0;

  get state(): OrderedState {
    return this.current;
  }

  get name(): OrderedStateName {
    return this.current.name;
  }

  /** How many times a consumer was recreated (each round of a reset). */
  get resets(): number {
    return this.rounds;
  }

  /**
   * Moves to `next` (with no reset waiting, when that is `recreating`). A move `ORDERED_MOVES`
   * does not allow fails an assertion.
   */
  transition(next: OrderedStateName): void {
    const from = this.current.name;
    if (!ORDERED_MOVES[from].includes(next))
      fail(`ordered consumer cannot move from ${from} to ${next}`);
    this.current = next === 'recreating' ? { name: next, then: 'none' } : { name: next };
  }

  /**
   * A reset is asked for (`checkStream`: the stream may have been recreated). True when the caller
   * runs it now: it was reading, and is recreating. While recreating, it is remembered to run
   * after the running one (a reset that checks the stream wins over one that does not); once
   * stopped, it is ignored.
   */
  reset(checkStream: boolean): boolean {
    const s = this.current;
    if (s.name === 'stopped') return false;
    if (s.name === 'recreating') {
      if (checkStream) this.current = { name: 'recreating', then: 'check-stream' };
      else if (s.then === 'none') this.current = { name: 'recreating', then: 'same-stream' };
      return false;
    }
    this.transition('recreating');
    return true;
  }

  /** A round of the reset begins: a consumer is about to be recreated. */
  round(): void {
    this.rounds++;
  }

  /**
   * A round of the reset is over. The next round's `checkStream` when a reset was asked for
   * meanwhile; undefined when the reset is over (it reads again) or the consumer was stopped.
   */
  roundDone(): boolean | undefined {
    const s = this.current;
    if (s.name !== 'recreating') return undefined;
    if (s.then === 'none') {
      this.transition('reading');
      return undefined;
    }
    this.current = { name: 'recreating', then: 'none' };
    return s.then === 'check-stream';
  }

  /** Stops for good. False when it already was. */
  stop(): boolean {
    if (this.current.name === 'stopped') return false;
    this.transition('stopped');
    return true;
  }
}

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits. */
export function rfc3339Nanos(text: string): bigint | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(.*)$/.exec(text);
  const ms = m ? Date.parse(m[1] + m[3]) : NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
