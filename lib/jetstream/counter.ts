// Distributed counters (ADR-49, nats-server 2.12+): a publish with an empty body and the header
// `Nats-Incr: +N` / `-N` makes the stream store `{"val":"<total>"}` on that subject and answer
// the total in the PubAck's `val`. Values are decimal strings on the wire and BigInt here.
import {
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  MsgHeaders,
  NoRespondersError,
  requireServer,
} from '../core/internal.js';
import { decodeReply, type JsApi } from './api.js';
import type { StoredMsg } from './manager/stored-msg.js';
import type { StreamsApi } from './manager/streams.js';
import { NoStreamForSubjectError } from './publish.js';
import type { PubAckWire } from './wire-types.js';

/** A counter subject's value as read by `counter.values()`. */
export interface CounterValue {
  /** The counter's subject. */
  subject: string;
  /** Its total. */
  value: bigint;
}

const COUNTERS_SINCE = '2.12.0';

/** Parses a stored counter body (`{"val":"123"}`); a body that is not one is a broken counter. */
export function counterValueOf(m: StoredMsg): bigint {
  let val: unknown;
  try {
    val = m.json<{ val?: unknown }>().val;
  } catch {
    val = undefined;
  }
  if (typeof val !== 'string' || !/^-?\d+$/.test(val))
    throw new JetStreamApiError(
      `message ${m.seq} on ${m.subject} is not a counter value`,
      JsApiCode.COUNTER_BROKEN,
      400,
    );
  return BigInt(val);
}

function incrementHeader(n: bigint | number): string {
  if (typeof n === 'number' && !Number.isSafeInteger(n))
    throw new InvalidOptionError(
      `a counter increment must be a safe integer or a bigint, got ${n}`,
    );
  const v = BigInt(n);
  return v < 0n ? `${v}` : `+${v}`;
}

/**
 * A counter on one subject of a stream with `allowMsgCounter` (and `allowDirect` for `values()`).
 * Every call needs nats-server 2.12+ (`FeatureNotSupportedError` before sending).
 */
export class Counter {
  private stream: string | undefined;

  /** @internal Made by `js.counter()`. */
  constructor(
    private readonly api: JsApi,
    private readonly streams: StreamsApi,
    /** The counter's subject. */
    readonly subject: string,
  ) {}

  /**
   * Adds `n` (negative subtracts, 0 reads) and resolves the new total. Rejects with
   * `JetStreamApiError` (`COUNTER_DISABLED` on a stream without counters) or
   * `NoStreamForSubjectError`.
   */
  async increment(n: bigint | number = 1): Promise<bigint> {
    requireServer(this.api.nc, COUNTERS_SINCE, 'counters');
    const headers = new MsgHeaders().set('Nats-Incr', incrementHeader(n));
    let ack: PubAckWire & { val?: string };
    try {
      const msg = await this.api.nc.request(this.subject, undefined, {
        headers,
        timeout: this.api.timeout,
      });
      ack = decodeReply<PubAckWire & { val?: string }>(msg);
    } catch (err) {
      if (err instanceof NoRespondersError) throw new NoStreamForSubjectError(this.subject);
      throw err;
    }
    this.stream ??= ack.stream;
    if (ack.val === undefined)
      throw new JetStreamApiError(
        `stream ${ack.stream} stored ${this.subject} without a counter value (not a counter stream?)`,
        JsApiCode.COUNTER_DISABLED,
        400,
      );
    return BigInt(ack.val);
  }

  /** The current total: 0n when the subject has no message yet. */
  async value(): Promise<bigint> {
    requireServer(this.api.nc, COUNTERS_SINCE, 'counters');
    const stream = await this.streamName();
    try {
      return counterValueOf(await this.streams.getMessage(stream, { lastBySubject: this.subject }));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.apiCode === JsApiCode.NO_MESSAGE_FOUND) return 0n;
      throw err;
    }
  }

  /**
   * The totals of every counter of this counter's stream matching `filter` (wildcards allowed;
   * default this counter's subject), by multi-last direct get, in stream order.
   */
  values(filter: string | string[] = this.subject): AsyncIterable<CounterValue> {
    requireServer(this.api.nc, COUNTERS_SINCE, 'counters');
    const subjects = typeof filter === 'string' ? [filter] : filter;
    return {
      [Symbol.asyncIterator]: async function* (this: Counter) {
        const stream = await this.streamName();
        for await (const m of this.streams.getLast(stream, subjects))
          yield { subject: m.subject, value: counterValueOf(m) };
      }.bind(this),
    };
  }

  private async streamName(): Promise<string> {
    this.stream ??= await this.streams.find(this.subject);
    return this.stream;
  }
}
