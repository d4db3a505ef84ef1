import {
  StreamNotFoundError,
  type MsgHeaders,
  TimeoutError,
  type NatsConnection,
} from '../../core/internal.js';
import { StreamsApi, type JetStreamClient, type JsMsg } from '../../jetstream/internal.js';
import { toWireError } from '../wire.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import { deadLetterHeaders } from './dead-letter-headers.js';
import { describeError, errorLine, oneLine, type HandlerError } from './handler-error.js';
import { isTerminal } from './term.exception.js';

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

/** How a message whose handler failed was settled, and what the handler threw. */
export interface FailureOutcome {
  outcome: 'manual' | 'term' | 'dead-letter' | 'nak';
  /** The nak delay in ms, for `nak`. */
  delay?: number;
  error: HandlerError;
}

export const DEFAULT_MAX_DELIVER = 5;
// Longest retry delay a nak can carry (beyond it the server reads no valid delay at all).
const MAX_RETRY_DELAY = 24 * 3600 * 1000;
/** Longest error text put in a dead-letter header: a huge message must not make the publish fail. */
const MAX_HEADER_TEXT = 4096;

/** What a `FailurePolicy` settles with. */
export interface FailurePolicyOptions {
  /** Dead letters that no stream takes go out on it as core requests. */
  nc: NatsConnection;
  /** Dead letters that a stream takes are published through it. */
  js: JetStreamClient;
  /** `maxDeliver`, `retryDelay` and `deadLetterSubject` of the handler. */
  options: Pick<
    JetStreamHandlerOptions,
    'maxDeliver' | 'retryDelay' | 'deadLetterSubject' | 'deadLetter'
  >;
  log: WorkerLog;
}

/**
 * What happens to a JetStream message whose handler failed: a `TermException` terms it; a
 * failure with deliveries left naks it with the retry delay; the last allowed delivery goes to
 * the dead-letter subject (then terms it) or, without one or when that fails, is naked and left
 * in the stream. Each outcome is logged once.
 */
export class FailurePolicy {
  constructor(private readonly opts: FailurePolicyOptions) {}

  /**
   * Settles `msg`: `filtered` is the error as Nest's exception filters left it (a
   * `TermException` may be recognised there too), `thrown` the handler's own.
   */
  async settle(msg: JsMsg, filtered: unknown, thrown: unknown): Promise<FailureOutcome> {
    const { options, log } = this.opts;
    const error = describeError(thrown);
    const what = `${describeMsg(msg)}: ${errorLine(error)}`;
    if (msg.isAcked) {
      log.warn(`manual ${what} (thrown after the handler settled the message itself)`);
      return { outcome: 'manual', error };
    }
    if (isTerminal(filtered) || isTerminal(thrown)) {
      msg.term();
      log.warn(`term ${what}`);
      return { outcome: 'term', error };
    }
    const delivered = msg.metadata.numDelivered;
    const maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
    const last = delivered >= maxDeliver;
    const dlq = options.deadLetterSubject;
    if (last && options.deadLetter === 'advisory') {
      // Naked at once: the server's next delivery attempt finds maxDeliver reached and sends
      // the MAX_DELIVERIES advisory that dead-letters it (advisory-dead-letter.ts).
      msg.nak();
      log.warn(`nak (last delivery; the MAX_DELIVERIES advisory dead-letters it) ${what}`);
      return { outcome: 'nak', delay: 0, error };
    }
    let dlqFailure: unknown;
    if (last && dlq) {
      try {
        await this.deadLetter(msg, error, dlq);
        msg.term();
        log.warn(`dead-letter to ${dlq} ${what}`);
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
      log.warn(`nak (retry in ${delay} ms) ${what}`);
    } else {
      // One line that says what happened and where the message is left.
      const left =
        `it was its last allowed delivery (maxDeliver ${maxDeliver}), so it stays in the ` +
        `stream and is not delivered again. Handler error: ${errorLine(error)}`;
      log.error(
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
    const r = this.opts.options.retryDelay;
    const fallback = Math.min(1000 * 2 ** (delivered - 1), 60_000);
    let delay: number;
    if (typeof r === 'function') {
      try {
        delay = r(delivered);
      } catch (err) {
        this.opts.log.warn(`retryDelay threw (${errorText(err)}); using ${fallback} ms`);
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
    const headers = deadLetterHeaders(msg.headers, {
      subject: msg.subject,
      stream: meta.stream,
      consumer: meta.consumer,
      seq: meta.sequence.stream,
      deliveries: meta.numDelivered,
    });
    headers.set('Nats-Dead-Letter-Error', headerValue(error.message));
    headers.set('Nats-Dead-Letter-Error-Name', headerValue(error.name));
    // A message dead-lettered before (replayed from a dead-letter stream) may carry an old code.
    if (error.code !== undefined)
      headers.set('Nats-Dead-Letter-Error-Code', headerValue(error.code));
    else headers.delete('Nats-Dead-Letter-Error-Code');
    // Through JetStream (a PubAck proves it is stored) when a stream takes the subject; else a
    // core publish that fails when nobody subscribes (js.publish would wait for an answer that
    // a plain subscriber never sends).
    const js = this.opts.js;
    const captured = await new StreamsApi(js.api).find(subject).then(
      () => true,
      (err: unknown) => {
        if (err instanceof StreamNotFoundError) return false;
        throw err;
      },
    );
    if (captured) {
      await js.publish(subject, msg.data, { headers, retries: 0 });
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
    const { nc, js } = this.opts;
    let failure: { err: unknown } | undefined;
    nc.request(subject, data, { headers, timeout: js.api.timeout }).catch((err) => {
      if (!(err instanceof TimeoutError)) failure = { err };
    });
    await nc.flush();
    // The rejection settled while the PONG was read; its handler has run by the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    if (failure !== undefined) throw failure.err;
  }
}

/** `STREAM#seq (subject, delivery n)`, as every per-message log line names a message. */
export function describeMsg(msg: JsMsg): string {
  const meta = msg.metadata;
  return `${meta.stream}#${meta.sequence.stream} (${msg.subject}, delivery ${meta.numDelivered})`;
}

function errorText(error: unknown): string {
  return oneLine(toWireError(error).message);
}

function headerValue(text: string): string {
  const line = oneLine(text);
  return line.length <= MAX_HEADER_TEXT ? line : `${line.slice(0, MAX_HEADER_TEXT)}... (truncated)`;
}
