import { InvalidOperationError, MsgQueue, serverAtLeast } from '../core/internal.js';
import type {
  DeliverPolicy,
  JetStreamClient,
  JsMsg,
  OrderedSubscription,
} from '../jetstream/internal.js';
import { bucketNotFound } from './errors.js';

// The first release whose last-per-subject consumers move their stream position through the
// snapshot (nats-server#7005); before it the watch continues from a plain start sequence.
const SNAPSHOT_SKIP_FIXED_IN = '2.11.7';

/** What a `Watcher` reads and how it turns messages into items. */
export interface WatchSpec<T> {
  js: JetStreamClient;
  /** The bucket's name, for `BucketNotFoundError`. */
  bucket: string;
  stream: string;
  /** The full subject filter of the consumer. */
  filter: string;
  deliverPolicy: DeliverPolicy;
  optStartSeq?: number;
  headersOnly?: boolean;
  idleHeartbeat?: number;
  /** Only changes: the initial values are done at once. */
  updatesOnly?: boolean;
  /** The item for a message, or undefined to skip it. */
  map(msg: JsMsg, isUpdate: boolean): T | undefined;
  /** Resolves true when nothing matches the filter, so there are no initial values. */
  isEmpty(): Promise<boolean>;
}

/**
 * Reads a filtered part of a stream through an ordered consumer: first the initial values,
 * then live changes. `initialized` settles exactly once, when the initial values were received;
 * the ordered consumer resumes after the last sequence seen across reconnects and server
 * restarts, so there are no gaps or repeats and the initial values are never signalled twice.
 */
export class Watcher<T> implements AsyncIterable<T> {
  /** Resolves with the number of initial items once they have all been received. */
  readonly initialized: Promise<number>;
  private resolveInit!: (count: number) => void;
  private rejectInit!: (err: Error) => void;
  private initDone = false;
  private initialItems = 0;
  private pushed = 0;
  private taken = 0;
  private readonly items = new MsgQueue<T & object>();
  private stopped = false;
  private oc: OrderedSubscription | undefined;
  // Continue from a start sequence after a last-per-subject snapshot (servers before 2.11.7).
  private readonly restartAfterSnapshot: boolean;
  // Stream sequence of the last initial value of a last-per-subject snapshot.
  private snapshotEnd: number | undefined;
  // The snapshot ended before the consumer was known: changes wait for its restart.
  private restartPending = false;

  private constructor(private readonly spec: WatchSpec<T>) {
    this.restartAfterSnapshot =
      spec.deliverPolicy === 'last_per_subject' &&
      !serverAtLeast(spec.js.nc, SNAPSHOT_SKIP_FIXED_IN);
    this.initialized = new Promise<number>((resolve, reject) => {
      this.resolveInit = resolve;
      this.rejectInit = reject;
    });
    this.initialized.catch(() => undefined);
  }

  /**
   * @internal Creates the consumer. Rejects with `BucketNotFoundError` when the bucket's stream
   * is missing, else with the API error.
   */
  static async start<T>(spec: WatchSpec<T>): Promise<Watcher<T>> {
    try {
      return await Watcher.create(spec);
    } catch (err) {
      throw bucketNotFound(err, spec.bucket);
    }
  }

  private static async create<T>(spec: WatchSpec<T>): Promise<Watcher<T>> {
    const w = new Watcher(spec);
    // A missing stream fails the consumer at once, while a direct get to it only times out.
    const emptiness = spec.updatesOnly ? Promise.resolve(true) : spec.isEmpty();
    emptiness.catch(() => undefined);
    const oc = await spec.js.consumers.ordered(spec.stream, {
      filterSubject: spec.filter,
      deliverPolicy: spec.deliverPolicy,
      optStartSeq: spec.optStartSeq,
      headersOnly: spec.headersOnly,
      idleHeartbeat: spec.idleHeartbeat,
      callback: (m) => w.onMsg(m),
    });
    let empty: boolean;
    try {
      empty = await emptiness;
    } catch (err) {
      oc.stop();
      throw err;
    }
    w.oc = oc;
    if (w.stopped) oc.stop();
    else if (w.snapshotEnd !== undefined) {
      w.restartPending = false;
      oc.restartAfter(w.snapshotEnd);
    }
    void oc.closed.then(() => w.stop());
    if (empty) w.markInit();
    return w;
  }

  /** True once the initial values were all received. */
  get isInitialized(): boolean {
    return this.initDone;
  }

  /** Stops the consumer. Items already received are still yielded, then iteration ends. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.oc?.stop();
    if (!this.initDone)
      this.rejectInit(new InvalidOperationError('watch stopped before it was initialized'));
    this.items.end();
  }

  /**
   * Every item, initial values first, until `stop()` or a `break` (which stops the watch too).
   * After `initialValues()` has run to its end, this continues with the changes.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate(false);
  }

  /**
   * The initial values only: this iteration ends at the marker that closes them (at once when
   * there are none), and the watch goes on; iterate the watcher itself for the changes.
   */
  initialValues(): AsyncIterable<T> {
    return { [Symbol.asyncIterator]: () => this.iterate(true) };
  }

  private iterate(initialOnly: boolean): AsyncGenerator<T> {
    return this.items.read({
      taken: () => {
        this.taken++;
        return true;
      },
      done: initialOnly ? () => this.initDone && this.taken >= this.initialItems : undefined,
      exit: initialOnly ? undefined : () => this.stop(),
    });
  }

  private onMsg(m: JsMsg): void {
    if (this.stopped) return;
    // Changes after the snapshot, from the consumer about to be replaced: the new one (started
    // right after the snapshot) delivers them again, so they are taken from it only.
    if (this.restartPending && m.metadata.sequence.stream > (this.snapshotEnd ?? 0)) return;
    const item = this.spec.map(m, this.initDone);
    if (item !== undefined) {
      this.items.push(item as T & object);
      this.pushed++;
    }
    if (!this.initDone && m.metadata.numPending === 0) {
      this.markInit();
      // Continue from a plain start sequence after a last-per-subject snapshot: some servers
      // can skip the first change after one (see OrderedSubscription.restartAfter).
      if (this.restartAfterSnapshot) {
        this.snapshotEnd = m.metadata.sequence.stream;
        if (this.oc) this.oc.restartAfter(this.snapshotEnd);
        else this.restartPending = true; // open() restarts it once the consumer is known
      }
    }
  }

  private markInit(): void {
    if (this.initDone) return;
    this.initDone = true;
    this.initialItems = this.pushed;
    this.resolveInit(this.pushed);
    this.items.wake();
  }
}

/**
 * The initial values of a watch that `open` starts when the iteration begins, as an iterable that
 * stops the watch when it ends (at the last initial value, or at a `break`).
 */
export function initialValuesOf<T>(open: () => Promise<Watcher<T>>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const w = await open();
      try {
        yield* w.initialValues();
      } finally {
        w.stop();
      }
    },
  };
}
