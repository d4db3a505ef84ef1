import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import {
  ConsumerNotFoundError,
  JetStreamApiError,
  MsgHeaders,
  type NatsConnection,
} from '../../core/index.js';
import {
  NoStreamForSubjectError,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '../../jetstream/index.js';
import { JetStreamContext } from '../context/jetstream.context.js';
import type { InFlight } from '../server/in-flight.js';
import { decodePayload, toWireError } from '../wire.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import { isTerminal } from './term.exception.js';

/** How a message was settled. `manual`: the handler acked, naked or termed it itself. */
export type SettleOutcome = 'ack' | 'nak' | 'term' | 'dead-letter' | 'manual';

/** Reported after every JetStream message a handler processed. */
export interface SettledEvent {
  subject: string;
  stream: string;
  consumer: string;
  streamSeq: number;
  numDelivered: number;
  outcome: SettleOutcome;
  /** The nak delay in ms, for `nak`. */
  delay?: number;
  error?: unknown;
}

/** Where a worker reports: failures, and recoveries worth a warning. */
export interface WorkerLog {
  error(err: unknown): void;
  warn(text: string): void;
}

export const DEFAULT_ACK_WAIT = 30_000;

/** The ack wait the server applies: with a backoff list, nats-server uses its first entry. */
export function effectiveAckWait(
  opts: Pick<JetStreamHandlerOptions, 'ackWait' | 'backoff'>,
): number {
  return opts.backoff?.length ? opts.backoff[0]! : (opts.ackWait ?? DEFAULT_ACK_WAIT);
}
// First wait before re-creating a consumer that disappeared.
const RECOVER_DELAY = 500;
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
    // Prefetch no more than can be worked on, so nothing waits in a buffer past its ack wait.
    this.messages = consumer.consume({ maxMessages: this.concurrency });
    void this.loop(this.messages);
  }

  /** Stops pulling; messages in progress finish (the caller waits for them via InFlight). */
  stop(): void {
    this.stopped = true;
    this.messages?.stop();
    this.slotFreed?.();
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        while (this.active >= this.concurrency && !this.stopped) {
          await new Promise<void>((resolve) => (this.slotFreed = resolve));
        }
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
    // The shortest wait the server may apply (ack wait, or any backoff step) sets the pace.
    const ackWait = Math.min(effectiveAckWait(this.opts), ...(this.opts.backoff ?? []));
    // Past half the ack wait, tell the server we are still working so it does not redeliver.
    const keepAlive = setInterval(
      () => {
        try {
          if (!msg.isAcked) msg.inProgress();
        } catch {
          // The connection closed (an app closed past its grace period): nothing to keep alive.
          clearInterval(keepAlive);
        }
      },
      Math.max(ackWait / 2, 50),
    );
    const meta = msg.metadata;
    let failure: { error: unknown } | undefined;
    try {
      const result = await this.handler(decodePayload(msg.data), new JetStreamContext(msg));
      if (isObservable(result))
        await lastValueFrom(result as Observable<unknown>, { defaultValue: undefined });
    } catch (error) {
      failure = { error };
    } finally {
      clearInterval(keepAlive);
    }
    let event: Pick<SettledEvent, 'outcome' | 'delay' | 'error'>;
    try {
      if (failure) event = await this.failed(msg, failure.error);
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
    this.onSettled({
      subject: msg.subject,
      stream: meta.stream,
      consumer: meta.consumer,
      streamSeq: meta.sequence.stream,
      numDelivered: meta.numDelivered,
      ...event,
    });
  }

  private async failed(
    msg: JsMsg,
    error: unknown,
  ): Promise<Pick<SettledEvent, 'outcome' | 'delay' | 'error'>> {
    if (msg.isAcked) return { outcome: 'manual', error };
    if (isTerminal(error)) {
      msg.term();
      return { outcome: 'term', error };
    }
    const delivered = msg.metadata.numDelivered;
    const last = delivered >= (this.opts.maxDeliver ?? DEFAULT_MAX_DELIVER);
    if (last && this.opts.deadLetterSubject) {
      try {
        await this.deadLetter(msg, error, this.opts.deadLetterSubject);
        msg.term();
        return { outcome: 'dead-letter', error };
      } catch (dlqError) {
        this.log.error(dlqError);
      }
    }
    const delay = this.retryDelay(delivered);
    msg.nak(delay);
    return { outcome: 'nak', delay, error };
  }

  private retryDelay(delivered: number): number {
    const r = this.opts.retryDelay;
    if (typeof r === 'function') return Math.max(0, r(delivered));
    const base = r ?? 1000;
    return Math.min(base * 2 ** (delivered - 1), 60_000);
  }

  /** Publishes the failed message with its error to the dead-letter subject (JetStream if a stream takes it). */
  private async deadLetter(msg: JsMsg, error: unknown, subject: string): Promise<void> {
    const meta = msg.metadata;
    const headers = new MsgHeaders();
    for (const [name, values] of msg.headers ?? []) for (const v of values) headers.append(name, v);
    headers.set('Nats-Dead-Letter-Subject', msg.subject);
    headers.set('Nats-Dead-Letter-Stream', meta.stream);
    headers.set('Nats-Dead-Letter-Consumer', meta.consumer);
    headers.set('Nats-Dead-Letter-Sequence', String(meta.sequence.stream));
    headers.set('Nats-Dead-Letter-Deliveries', String(meta.numDelivered));
    headers.set('Nats-Dead-Letter-Error', errorText(error));
    try {
      await this.js.publish(subject, msg.data, { headers, retries: 0 });
    } catch (err) {
      if (!(err instanceof NoStreamForSubjectError)) throw err;
      await this.nc.publish(subject, msg.data, { headers });
      await this.nc.flush();
    }
  }
}

function errorText(error: unknown): string {
  return toWireError(error).message.replace(/[\r\n]+/g, ' ');
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
