// The ways to read an ordered consumer besides iterating it: `consume()`, `fetch()` and `next()`,
// the reading API of pull consumers (and of nats.js ordered consumers). They are views of the one
// in-order queue `OrderedSubscription` (ordered.ts) fills: the ordered consumer keeps recreating
// its server-side consumer on gaps, resets, heartbeats missed and reconnects whatever reads it,
// and a reader only takes messages from that queue.
//
// One reader at a time: a direct iteration, a `consume()`, a `fetch()` or a `next()`. Starting
// another while one reads fails with `InvalidOperationError`; one after the other they continue
// where the last one stopped, nothing lost and nothing twice. A `fetch()` or `next()` whose
// `expires` has passed no longer counts (it only drains what was already buffered).
import {
  CallbackRunner,
  checkDelay,
  internalsOf,
  telemetryOf,
  InvalidOperationError,
  InvalidOptionError,
  type NatsConnection,
} from '../core/internal.js';
import type { JsMsg } from './jsmsg.js';
import { runCallback } from './telemetry.js';

/** Options of an ordered consumer's `consume()`. */
export interface OrderedConsumeOptions {
  /**
   * Called with each message, in order (an async callback is not awaited, as with the ordered
   * consumer's `callback` option); without it, iterate the result with `for await`.
   */
  callback?: (msg: JsMsg) => unknown;
}

/** Options of an ordered consumer's `fetch()`. */
export interface OrderedFetchOptions {
  /** The most messages the batch yields. @default 100 */
  maxMessages?: number;
  /** How long the batch waits for messages, in milliseconds. @default 30000 */
  expires?: number;
}

/** Options of an ordered consumer's `next()`. */
export interface OrderedNextOptions {
  /** How long to wait for a message, in milliseconds. @default 30000 */
  expires?: number;
}

const DEFAULT_FETCH_MESSAGES = 100;
const DEFAULT_EXPIRES_MS = 30_000;

/** What a reader asks of the queue's reading (see `OrderedSource.read`). */
export interface OrderedReadHooks {
  /** Checked before each message: true ends the reader. */
  done?: () => boolean;
  /** Called with each message the reader yields. */
  taken?: (msg: JsMsg) => void;
  /** Runs once when the reader ends, for any reason. */
  exit?: () => void;
  /** Thrown by the first `next()` instead of reading. */
  refused?: Error;
}

/** @internal What the readers need of an `OrderedSubscription`. */
export interface OrderedSource {
  readonly nc: NatsConnection;
  /** The subject the `process` spans of a callback are named after. */
  readonly pattern: string;
  /** Set when the ordered consumer has a `callback`: it cannot be read any other way. */
  readonly callbackMode: boolean;
  /** Messages (and flow-control requests) received and not read yet. */
  readonly buffered: number;
  /** A reader of the in-order queue; flow control is answered as it is read. */
  read(hooks: OrderedReadHooks): AsyncGenerator<JsMsg>;
  /** Wakes a waiting reader so it checks `done()` again. */
  wake(): void;
}

/** The reader in progress, and whether its time is up (a `fetch()` or `next()` past `expires`). */
interface Claim {
  readonly what: string;
  expired: boolean;
}

/** @internal The reader slot of an ordered consumer, and the readers it hands out. */
export class OrderedReaders {
  private owner: Claim | undefined;

  constructor(private readonly source: OrderedSource) {}

  /** Takes the slot for `what`; throws `InvalidOperationError` while another reader has it. */
  private claim(what: string): Claim {
    if (this.source.callbackMode)
      throw new InvalidOperationError(`an ordered consumer with a callback cannot use ${what}`);
    const owner = this.owner;
    if (owner !== undefined && !owner.expired)
      throw new InvalidOperationError(
        `an ordered consumer has one reader at a time: ${owner.what} is still reading ` +
          `(end it before ${what})`,
      );
    const claim: Claim = { what, expired: false };
    this.owner = claim;
    return claim;
  }

  private release(claim: Claim): void {
    if (this.owner === claim) this.owner = undefined;
  }

  /** Direct iteration of the ordered consumer; when it ends, `onExit` runs (it stops). */
  iterate(onExit: () => void): AsyncGenerator<JsMsg> {
    let claim: Claim;
    try {
      if (this.source.callbackMode)
        throw new InvalidOperationError('an ordered consumer with a callback cannot be iterated');
      claim = this.claim('an iterator');
    } catch (err) {
      return this.source.read({ refused: err as Error });
    }
    return this.source.read({
      exit: () => {
        this.release(claim);
        onExit();
      },
    });
  }

  consume(opts: OrderedConsumeOptions = {}): OrderedMessages {
    const claim = this.claim('a consume()');
    return new OrderedMessages(this.source, opts, () => this.release(claim));
  }

  fetch(opts: OrderedFetchOptions = {}): OrderedBatch {
    const max = opts.maxMessages ?? DEFAULT_FETCH_MESSAGES;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidOptionError('maxMessages must be a positive integer');
    const expires = opts.expires ?? DEFAULT_EXPIRES_MS;
    checkDelay(expires, 'fetch expires', 1);
    return this.batch(this.claim('a fetch()'), max, expires);
  }

  async next(opts: OrderedNextOptions = {}): Promise<JsMsg | null> {
    const expires = opts.expires ?? DEFAULT_EXPIRES_MS;
    checkDelay(expires, 'next expires', 1);
    const reader = this.batch(this.claim('a next()'), 1, expires)[Symbol.asyncIterator]();
    const first = await reader.next();
    return first.done ? null : first.value;
  }

  private batch(claim: Claim, max: number, expires: number): OrderedBatch {
    const source = this.source;
    let count = 0;
    let timer: NodeJS.Timeout | undefined = undefined;
    const end = (): void => {
      clearTimeout(timer);
      this.release(claim);
    };
    const reader = source.read({
      // Once expired it stops waiting: it yields what is buffered until another reader starts.
      done: () =>
        count >= max || (claim.expired && (this.owner !== claim || source.buffered === 0)),
      taken: () => {
        if (++count >= max) end();
      },
      exit: end,
    });
    timer = setTimeout(() => {
      claim.expired = true;
      source.wake();
    }, expires).unref();
    return new OrderedBatch(reader, () => count);
  }
}

/**
 * A continuous reader of an ordered consumer (`consume()`): iterate it with `for await`, or it
 * calls the `callback` it was given. `stop()` (or a `break`) ends this reader only: the ordered
 * consumer goes on, and another reader can continue from there; `stop()` the ordered consumer
 * when done with it. It ends by itself when the ordered consumer stops.
 */
export class OrderedMessages implements AsyncIterable<JsMsg> {
  /** Resolves once this reader ended. */
  readonly closed: Promise<void>;
  private readonly reader: AsyncGenerator<JsMsg>;
  private readonly fed: boolean;

  /** @internal Made by `OrderedSubscription.consume()`. */
  constructor(source: OrderedSource, opts: OrderedConsumeOptions, release: () => void) {
    let ended!: () => void;
    this.closed = new Promise((r) => (ended = r));
    this.reader = source.read({
      exit: () => {
        release();
        ended();
      },
    });
    const callback = opts.callback;
    this.fed = callback !== undefined;
    if (callback !== undefined) {
      const runner = new CallbackRunner(callback, internalsOf(source.nc), msgSubject);
      void this.feed(runner, source);
    }
  }

  private async feed(runner: CallbackRunner<JsMsg>, source: OrderedSource): Promise<void> {
    const tel = telemetryOf(source.nc);
    // The runner reports a failed callback itself; delivery does not wait for an async one.
    for await (const msg of this.reader) void runCallback(tel, runner, msg, source.pattern, false);
  }

  /** Ends this reader (the ordered consumer goes on). */
  stop(): void {
    void this.reader.return(undefined);
  }

  /** The messages, in order; a `break` ends this reader (as `stop()` does). */
  [Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    if (this.fed) {
      const refused = new InvalidOperationError('a consume() with a callback cannot be iterated');
      return { next: () => Promise.reject(refused) };
    }
    return this.reader;
  }
}

/**
 * A bounded batch of an ordered consumer (`fetch()`): yields up to `maxMessages` messages, in
 * order, waiting for them at most `expires` ms from the `fetch()`. Then it ends; what it did not
 * yield stays for the next reader.
 */
export class OrderedBatch implements AsyncIterable<JsMsg> {
  /** @internal Made by `OrderedSubscription.fetch()`. */
  constructor(
    private readonly reader: AsyncGenerator<JsMsg>,
    private readonly count: () => number,
  ) {}

  /** Messages yielded so far. */
  get received(): number {
    return this.count();
  }

  /** Ends the batch before its time (a `break` does too). */
  stop(): void {
    void this.reader.return(undefined);
  }

  /** The batch's messages, in order. */
  [Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    return this.reader;
  }
}

const msgSubject = (msg: JsMsg): string => msg.subject;
