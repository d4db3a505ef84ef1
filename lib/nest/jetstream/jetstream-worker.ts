import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  ConsumerNotFoundError,
  JetStreamApiError,
  carrierOf,
  telemetryOf,
  type ConnectionTelemetry,
  type NatsConnection,
  type InFlight,
  type TelemetrySpan,
} from '../../core/internal.js';
import {
  processAttributes,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
  type PullConsumer,
} from '../../jetstream/internal.js';
import { JetStreamContext } from '../context/jetstream.context.js';
import { decodePayload } from '../wire.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import { originalError, type HandlerError } from './handler-error.js';
import { FailurePolicy, describeMsg, type WorkerLog } from './failure-policy.js';
import { priorityPullOptions } from './exclusive.js';
import type { MessageWatch } from './hang-watchdog.js';

export type { HandlerError } from './handler-error.js';
export type { WorkerLog } from './failure-policy.js';
export { DEFAULT_MAX_DELIVER } from './failure-policy.js';

/** How a message was settled. `manual`: the handler acked, naked or termed it itself. */
export type SettleOutcome = 'ack' | 'nak' | 'term' | 'dead-letter' | 'manual';

/** Reported after every JetStream message a handler processed. */
export interface SettledEvent {
  /** The message's subject. */
  subject: string;
  /** The stream it was read from. */
  stream: string;
  /** The durable consumer that delivered it. */
  consumer: string;
  /** Its sequence in the stream. */
  streamSeq: number;
  /** How many times it has been delivered, this delivery included. */
  numDelivered: number;
  /** How it was settled. */
  outcome: SettleOutcome;
  /** The nak delay in ms, for `nak`. */
  delay?: number;
  /**
   * What the handler threw (its original error, not what Nest's exception filters made of it):
   * set for `nak`, `term` and `dead-letter`, and for `manual` when the handler threw after
   * settling the message itself.
   */
  error?: HandlerError;
}

/** How a settled message was reported, beyond its outcome. */
type Settled = Pick<SettledEvent, 'outcome' | 'delay' | 'error'>;

export const DEFAULT_ACK_WAIT = 30_000;

/** The ack wait the server applies: with a backoff list, nats-server uses its first entry. */
export function effectiveAckWait(
  opts: Pick<JetStreamHandlerOptions, 'ackWait' | 'backoff'>,
): number {
  return opts.backoff?.length ? opts.backoff[0] : (opts.ackWait ?? DEFAULT_ACK_WAIT);
}

// First wait before re-creating a consumer that disappeared.
const RECOVER_DELAY = 500;
// Lifetime of each pull: short, so a consumer deleted meanwhile is noticed within seconds.
const PULL_EXPIRES = 5000;

/** What a `JetStreamWorker` runs and where it reports. */
export interface JetStreamWorkerOptions {
  /** The connection (dead letters that no stream takes go out on it). */
  nc: NatsConnection;
  /** The JetStream client of the handler's durable consumer. */
  js: JetStreamClient;
  /** The Nest handler that processes each message. */
  handler: MessageHandler;
  /** What `@JetStreamHandler()` declared: stream, durable, concurrency, retries, dead letters. */
  options: JetStreamHandlerOptions;
  /** Each message in progress is tracked here, so the transport's `close()` can wait for it. */
  inFlight: InFlight;
  /** Called after each message is settled (the transport's `settled` event). */
  onSettled: (e: SettledEvent) => void;
  /** Where the worker logs, at the levels `WorkerLog` describes. */
  log: WorkerLog;
  /** Creates the consumer again as declared (after it was deleted or lost). */
  reprovision: () => Promise<void>;
  /** Follows each message from its start (an exclusive handler's hang watchdog). */
  watch?: (msg: JsMsg) => MessageWatch;
}

/**
 * Runs one `@JetStreamHandler`: pulls from its durable consumer with at most `concurrency`
 * messages in progress, and settles each message from the handler's outcome.
 */
export class JetStreamWorker {
  private messages: ConsumerMessages | undefined;
  private consumer: PullConsumer | undefined;
  private active = 0;
  private slotFreed: (() => void) | undefined;
  private stopped = false;

  private readonly js: JetStreamClient;
  private readonly handler: MessageHandler;
  private readonly opts: JetStreamHandlerOptions;
  private readonly inFlight: InFlight;
  private readonly onSettled: (e: SettledEvent) => void;
  private readonly log: WorkerLog;
  private readonly reprovision: () => Promise<void>;
  private readonly watch: ((msg: JsMsg) => MessageWatch) | undefined;
  private readonly failures: FailurePolicy;
  private readonly telemetry: ConnectionTelemetry | undefined;

  constructor(o: JetStreamWorkerOptions) {
    this.telemetry = telemetryOf(o.nc);
    this.js = o.js;
    this.handler = o.handler;
    this.opts = o.options;
    this.inFlight = o.inFlight;
    this.onSettled = o.onSettled;
    this.log = o.log;
    this.reprovision = o.reprovision;
    this.watch = o.watch;
    this.failures = new FailurePolicy({ nc: o.nc, js: o.js, options: o.options, log: o.log });
  }

  private get concurrency(): number {
    return Math.max(1, this.opts.concurrency ?? 1);
  }

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(this.opts.stream, this.opts.durable);
    this.consumer = consumer;
    this.messages = consumer.consume({
      // Prefetch no more than can be worked on; what waits in the buffer is kept alive.
      maxMessages: this.concurrency,
      keepBufferedAlive: this.keepAliveEvery(),
      // Short pulls: a consumer deleted while we are busy is noticed within seconds (missed
      // heartbeats), not after a 30 s pull.
      // Exclusive and overflow handlers add their priority group (and shorter pulls).
      ...priorityPullOptions(this.opts, PULL_EXPIRES),
    });
    void this.loop(this.messages);
  }

  /** An exclusive handler's pulls hold the pin of its consumer: they are the ones served. */
  get pinned(): boolean {
    return this.consumer?.pinned ?? false;
  }

  /**
   * Stops pulling and hands back what was pulled but not started (unless `handBack` is false:
   * it may be another instance's already); running ones finish.
   */
  stop(handBack = true): void {
    this.stopped = true;
    if (handBack) this.messages?.handBack();
    this.messages?.stop();
    this.slotFreed?.();
  }

  /** In-progress acks go out at half the shortest wait the server may apply. */
  private keepAliveEvery(): number {
    const wait = Math.min(effectiveAckWait(this.opts), ...(this.opts.backoff ?? []));
    return Math.max(wait / 2, 50);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        // A slot first, then a message: one taken early would wait without in-progress acks.
        while (this.active >= this.concurrency && !this.stopped) {
          await new Promise<void>((resolve) => (this.slotFreed = resolve));
        }
        if (this.stopped) return;
        const next = await it.next();
        if (next.done) break;
        const msg = next.value;
        if (this.stopped) {
          // Pulled but not started: hand it back at once rather than wait out the ack wait.
          msg.nak();
          continue;
        }
        this.active++;
        const work = this.traced(msg).finally(() => {
          this.active--;
          this.slotFreed?.();
        });
        this.inFlight.track(work);
      }
    } catch (err) {
      if (this.stopped) return;
      this.log.error(err);
      if (consumerGone(err)) void this.recover();
    }
  }

  /** The declared consumer disappeared: create it again and resume, retrying with backoff. */
  private async recover(): Promise<void> {
    for (let delay = RECOVER_DELAY; !this.stopped; delay = Math.min(delay * 2, 30_000)) {
      await new Promise((r) => setTimeout(r, delay).unref());
      if (this.stopped) return;
      try {
        await this.reprovision();
        await this.start();
        this.log.warn(
          'consumer re-created as declared; consuming again (messages may be delivered again)',
        );
        return;
      } catch (err) {
        this.log.error(err);
      }
    }
  }

  /**
   * While OpenTelemetry is on, runs `process()` in a CONSUMER `process {filter subject}` span
   * linked to the publisher's context (a stored message is not a child of its publish), with the
   * ack outcome as `messaging.nats.ack`; a handler that failed marks it ERROR. The message was
   * counted as consumed by the `receive` span of its pull.
   */
  private traced(msg: JsMsg): Promise<void> {
    const hooks = this.telemetry?.hooks;
    if (hooks === null || hooks === undefined) return this.process(msg);
    const headers = msg.headers;
    const pattern = this.opts.filterSubject ?? msg.subject;
    const attrs = processAttributes(this.telemetry!, msg, pattern);
    const carrier = headers === undefined ? undefined : carrierOf(headers);
    return hooks.process(pattern, carrier, 'pulled', attrs, (span) => this.process(msg, span));
  }

  private async process(msg: JsMsg, span?: TelemetrySpan): Promise<void> {
    const watch = this.watch?.(msg);
    // Given up before it started (see `HangWatchdog`): another instance may have it now.
    if (watch?.abandoned) return;
    // Past half the ack wait, tell the server we are still working so it does not redeliver.
    const keepAlive = setInterval(() => {
      try {
        if (!msg.isAcked && !watch?.abandoned) {
          msg.inProgress();
          watch?.kept();
        }
      } catch {
        // The connection closed (an app closed past its grace period): nothing to keep alive.
        clearInterval(keepAlive);
      }
    }, this.keepAliveEvery());
    // Only a help for a running handler: a handler that hangs past close() must not keep the
    // process alive for up to half an ack wait more.
    keepAlive.unref();
    const meta = msg.metadata;
    const ctx = new JetStreamContext(msg, watch);
    let failure: { filtered: unknown; thrown: unknown } | undefined;
    try {
      const result: unknown = await this.handler(decodePayload(msg.data), ctx);
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    } catch (filtered) {
      // Nest's exception filters already turned the error into what a caller would get; the
      // operator gets the error the handler threw.
      failure = { filtered, thrown: originalError(ctx, filtered) };
    } finally {
      clearInterval(keepAlive);
      watch?.done();
    }
    // Handed over while the handler ran: the message is another instance's now; never settled.
    if (watch?.abandoned) return;
    let event: Settled;
    try {
      if (failure) event = await this.failures.settle(msg, failure.filtered, failure.thrown);
      else event = msg.isAcked ? { outcome: 'manual' } : (msg.ack(), { outcome: 'ack' });
    } catch (err) {
      // Typically the connection closed while the handler ran past the grace period.
      this.log.warn(
        `could not settle ${meta.stream}#${meta.sequence.stream}: ` +
          `${err instanceof Error ? err.message : String(err)}; the server delivers it again ` +
          'after its ack wait',
      );
      return;
    }
    span?.setAttributes({ 'messaging.nats.ack': event.outcome });
    if (event.error) span?.fail(event.error.cause);
    // Failures were logged as they were settled; a success is one line per message: debug.
    if (!event.error) this.log.debug(`${event.outcome} ${describeMsg(msg)}`);
    this.onSettled({
      subject: msg.subject,
      stream: meta.stream,
      consumer: meta.consumer,
      streamSeq: meta.sequence.stream,
      numDelivered: meta.numDelivered,
      ...event,
    });
  }
}

/** The consumer was deleted (409 while pulling) or is missing (found lost after a restart). */
function consumerGone(err: unknown): boolean {
  return (
    err instanceof ConsumerNotFoundError ||
    (err instanceof JetStreamApiError &&
      err.status === 409 &&
      /consumer deleted/i.test(err.message))
  );
}
