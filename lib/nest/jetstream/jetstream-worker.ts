import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import {
  ConsumerNotFoundError,
  JetStreamApiError,
  MsgHeaders,
  StreamNotFoundError,
  TimeoutError,
  type NatsConnection,
  type InFlight,
} from '../../core/internal.js';
import {
  StreamsApi,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '../../jetstream/internal.js';
import { JetStreamContext } from '../context/jetstream.context.js';
import { decodePayload, toWireError } from '../wire.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import {
  describeError,
  errorLine,
  oneLine,
  originalError,
  type HandlerError,
} from './handler-error.js';
import { isTerminal } from './term.exception.js';

export type { HandlerError } from './handler-error.js';

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

/**
 * Where a worker reports: per-message successes at `debug`; failures that are retried or settled
 * as declared (nak, term, dead-letter) at `warn`; messages given up without a dead letter, and
 * the worker's own failures, at `error`.
 */
export interface WorkerLog {
  debug(text: string): void;
  warn(text: string): void;
  error(err: unknown): void;
}

/** How a settled message was reported, beyond its outcome. */
type Settled = Pick<SettledEvent, 'outcome' | 'delay' | 'error'>;

export const DEFAULT_ACK_WAIT = 30_000;

/** The ack wait the server applies: with a backoff list, nats-server uses its first entry. */
export function effectiveAckWait(
  opts: Pick<JetStreamHandlerOptions, 'ackWait' | 'backoff'>,
): number {
  return opts.backoff?.length ? opts.backoff[0]! : (opts.ackWait ?? DEFAULT_ACK_WAIT);
}
// First wait before re-creating a consumer that disappeared.
const RECOVER_DELAY = 500;
// Lifetime of each pull: short, so a consumer deleted meanwhile is noticed within seconds.
const PULL_EXPIRES = 5000;
// Longest retry delay a nak can carry (beyond it the server reads no valid delay at all).
const MAX_RETRY_DELAY = 24 * 3600 * 1000;
export const DEFAULT_MAX_DELIVER = 5;

/**
 * Runs one `@JetStreamHandler`: pulls from its durable consumer with at most `concurrency`
 * messages in progress, and settles each message from the handler's outcome.
 */
export class JetStreamWorker {
  private messages: ConsumerMessages | undefined;
  private active = 0;
  private slotFreed: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly handler: MessageHandler,
    private readonly opts: JetStreamHandlerOptions,
    private readonly inFlight: InFlight,
    private readonly onSettled: (e: SettledEvent) => void,
    private readonly log: WorkerLog,
    /** Creates the consumer again as declared (after it was deleted or lost). */
    private readonly reprovision: () => Promise<void>,
  ) {}

  private get concurrency(): number {
    return Math.max(1, this.opts.concurrency ?? 1);
  }

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(this.opts.stream, this.opts.durable);
    this.messages = consumer.consume({
      // Prefetch no more than can be worked on; what waits in the buffer is kept alive.
      maxMessages: this.concurrency,
      keepBufferedAlive: this.keepAliveEvery(),
      // Short pulls: a consumer deleted while we are busy is noticed within seconds (missed
      // heartbeats), not after a 30 s pull.
      expires: PULL_EXPIRES,
    });
    void this.loop(this.messages);
  }

  /** Stops pulling and hands back what was pulled but not started; running ones finish. */
  stop(): void {
    this.stopped = true;
    this.messages?.handBack();
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
        const work = this.process(msg).finally(() => {
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

  private async process(msg: JsMsg): Promise<void> {
    // Past half the ack wait, tell the server we are still working so it does not redeliver.
    const keepAlive = setInterval(() => {
      try {
        if (!msg.isAcked) msg.inProgress();
      } catch {
        // The connection closed (an app closed past its grace period): nothing to keep alive.
        clearInterval(keepAlive);
      }
    }, this.keepAliveEvery());
    // Only a help for a running handler: a handler that hangs past close() must not keep the
    // process alive for up to half an ack wait more.
    keepAlive.unref();
    const meta = msg.metadata;
    const ctx = new JetStreamContext(msg);
    let failure: { filtered: unknown; thrown: unknown } | undefined;
    try {
      const result = await this.handler(decodePayload(msg.data), ctx);
      if (isObservable(result))
        await lastValueFrom(result as Observable<unknown>, { defaultValue: undefined });
    } catch (filtered) {
      // Nest's exception filters already turned the error into what a caller would get; the
      // operator gets the error the handler threw.
      failure = { filtered, thrown: originalError(ctx, filtered) };
    } finally {
      clearInterval(keepAlive);
    }
    let event: Settled;
    try {
      if (failure) event = await this.failed(msg, failure.filtered, failure.thrown);
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

  /**
   * Settles a message whose handler failed, and logs it once: `filtered` is the error as Nest's
   * exception filters left it (a `TermException` may be recognised there too), `thrown` the
   * handler's own.
   */
  private async failed(msg: JsMsg, filtered: unknown, thrown: unknown): Promise<Settled> {
    const error = describeError(thrown);
    const what = `${describeMsg(msg)}: ${errorLine(error)}`;
    if (msg.isAcked) {
      this.log.warn(`manual ${what} (thrown after the handler settled the message itself)`);
      return { outcome: 'manual', error };
    }
    if (isTerminal(filtered) || isTerminal(thrown)) {
      msg.term();
      this.log.warn(`term ${what}`);
      return { outcome: 'term', error };
    }
    const delivered = msg.metadata.numDelivered;
    const maxDeliver = this.opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
    const last = delivered >= maxDeliver;
    const dlq = this.opts.deadLetterSubject;
    let dlqFailure: unknown;
    if (last && dlq) {
      try {
        await this.deadLetter(msg, error, dlq);
        msg.term();
        this.log.warn(`dead-letter to ${dlq} ${what}`);
        return { outcome: 'dead-letter', error };
      } catch (err) {
        dlqFailure = err;
      }
    }
    // Naked even on the last delivery: the server delivers it no more, but it stays in the
    // stream (a term would let a work-queue stream delete it).
    const delay = this.retryDelay(delivered);
    msg.nak(delay);
    if (!last) {
      this.log.warn(`nak (retry in ${delay} ms) ${what}`);
    } else {
      // One line that says what happened and where the message is left.
      const left =
        `it was its last allowed delivery (maxDeliver ${maxDeliver}), so it stays in the ` +
        `stream and is not delivered again. Handler error: ${errorLine(error)}`;
      this.log.error(
        dlqFailure === undefined
          ? `gave up on ${describeMsg(msg)} (no deadLetterSubject): ${left}`
          : `could not dead-letter ${describeMsg(msg)} to ${dlq}: ${errorText(dlqFailure)}; ${left}`,
      );
    }
    return { outcome: 'nak', delay, error };
  }

  /**
   * The nak delay for a message delivered `delivered` times: the option's function or base
   * (doubling, capped at 60 s), kept to a number of ms the server accepts; a function that
   * throws or gives no number falls back to the default.
   */
  private retryDelay(delivered: number): number {
    const r = this.opts.retryDelay;
    const fallback = Math.min(1000 * 2 ** (delivered - 1), 60_000);
    let delay: number;
    if (typeof r === 'function') {
      try {
        delay = r(delivered);
      } catch (err) {
        this.log.warn(`retryDelay threw (${errorText(err)}); using ${fallback} ms`);
        delay = fallback;
      }
    } else {
      delay = Math.min((r ?? 1000) * 2 ** (delivered - 1), 60_000);
    }
    if (typeof delay !== 'number' || Number.isNaN(delay)) delay = fallback;
    return Math.round(Math.min(Math.max(0, delay), MAX_RETRY_DELAY));
  }

  /** Publishes the failed message with its error to the dead-letter subject (JetStream if a stream takes it). */
  private async deadLetter(msg: JsMsg, error: HandlerError, subject: string): Promise<void> {
    const meta = msg.metadata;
    const headers = new MsgHeaders();
    for (const [name, values] of msg.headers ?? []) {
      // The original's publish expectations and message id would make the dead-letter stream
      // refuse or deduplicate it; the id is kept under another name.
      if (/^nats-expected-/i.test(name)) continue;
      const kept = /^nats-msg-id$/i.test(name) ? 'Nats-Dead-Letter-Msg-Id' : name;
      for (const v of values) headers.append(kept, v);
    }
    headers.set('Nats-Dead-Letter-Subject', msg.subject);
    headers.set('Nats-Dead-Letter-Stream', meta.stream);
    headers.set('Nats-Dead-Letter-Consumer', meta.consumer);
    headers.set('Nats-Dead-Letter-Sequence', String(meta.sequence.stream));
    headers.set('Nats-Dead-Letter-Deliveries', String(meta.numDelivered));
    headers.set('Nats-Dead-Letter-Error', headerValue(error.message));
    headers.set('Nats-Dead-Letter-Error-Name', headerValue(error.name));
    // A message dead-lettered before (replayed from a dead-letter stream) may carry an old code.
    if (error.code !== undefined)
      headers.set('Nats-Dead-Letter-Error-Code', headerValue(error.code));
    else headers.delete('Nats-Dead-Letter-Error-Code');
    // Through JetStream (a PubAck proves it is stored) when a stream takes the subject; else a
    // core publish that fails when nobody subscribes (js.publish would wait for an answer that
    // a plain subscriber never sends).
    const captured = await new StreamsApi(this.js.api).find(subject).then(
      () => true,
      (err: unknown) => {
        if (err instanceof StreamNotFoundError) return false;
        throw err;
      },
    );
    if (captured) {
      await this.js.publish(subject, msg.data, { headers, retries: 0 });
    } else {
      await this.publishToListener(subject, msg.data, headers);
    }
  }

  /**
   * A core publish that fails when nothing takes it. Sent as a request, so the server answers
   * "no responders" at once when no subscription matches (and a denied subject fails it too);
   * either answer arrives before the PONG of the flush that follows. Listeners need not reply.
   */
  private async publishToListener(
    subject: string,
    data: Uint8Array,
    headers: MsgHeaders,
  ): Promise<void> {
    let failure: unknown;
    this.nc.request(subject, data, { headers, timeout: this.js.api.timeout }).catch((err) => {
      if (!(err instanceof TimeoutError)) failure = err;
    });
    await this.nc.flush();
    // The rejection settled while the PONG was read; its handler has run by the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    if (failure !== undefined) throw failure;
  }
}

function errorText(error: unknown): string {
  return oneLine(toWireError(error).message);
}

/** Longest error text put in a dead-letter header: a huge message must not make the publish fail. */
const MAX_HEADER_TEXT = 4096;

function headerValue(text: string): string {
  const line = oneLine(text);
  return line.length <= MAX_HEADER_TEXT ? line : `${line.slice(0, MAX_HEADER_TEXT)}... (truncated)`;
}

/** `STREAM#seq (subject, delivery n)`, as every per-message log line names a message. */
function describeMsg(msg: JsMsg): string {
  const meta = msg.metadata;
  return `${meta.stream}#${meta.sequence.stream} (${msg.subject}, delivery ${meta.numDelivered})`;
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
