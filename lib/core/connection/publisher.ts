import { encodePub, encodePubPrefixed } from '../protocol/encoder.js';
import { InvalidOptionError, MaxPayloadError } from '../errors.js';
import { MsgHeaders, type HeadersInit } from '../messages/headers.js';
import type { Responder } from '../messages/msg.js';
import { checkControlLine, checkPublishSubject } from '../subjects.js';
import type { Outbound } from '../transport/outbound.js';
import type { ConnectionStateMachine } from './state.js';

/** What `nc.stats()` counts since the connection was made. */
export interface Stats {
  /** Messages received. */
  inMsgs: number;
  /** Messages published. */
  outMsgs: number;
  /** Bytes received in messages (headers and payloads). */
  inBytes: number;
  /** Bytes published in messages (headers and payloads). */
  outBytes: number;
  /** How many times the connection reconnected. */
  reconnects: number;
}

export const EMPTY = new Uint8Array(0);
/** The max_payload assumed until a server says otherwise. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Bytes of message data; anything but a string or a Uint8Array (Buffer) is refused. */
function payloadSize(payload: Uint8Array | string): number {
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  if (payload instanceof Uint8Array) return payload.length;
  // Other typed arrays count elements, not bytes: sending them would corrupt the message.
  const what = ArrayBuffer.isView(payload)
    ? (payload as object).constructor.name
    : typeof payload === 'object'
      ? String((payload as object).constructor?.name ?? 'object')
      : typeof payload;
  throw new InvalidOptionError(
    `message data must be a string or a Uint8Array (Buffer), not ${what}`,
  );
}

/**
 * Encodes publishes into the outbound buffer: the `PUB <subject> ` bytes of repeated subjects
 * are cached, so the common publish is a map lookup, a size check and a copy. Also answers
 * received messages (`msg.respond()`).
 */
export class Publisher implements Responder {
  /** The server's max_payload, kept here so a publish reads one field. */
  maxPayload = DEFAULT_MAX_PAYLOAD;
  private readonly prefixes = new Map<string, Buffer>();
  private readonly seenOnce = new Set<string>();
  // Subject plus reply lengths (UTF-16 units) above which a PUB line may exceed the server's
  // control-line limit (UTF-8 takes at most 3 bytes per unit): only then is it measured.
  readonly longLine: number;

  constructor(
    private readonly outbound: Outbound,
    private readonly machine: ConnectionStateMachine,
    private readonly counters: Stats,
    readonly maxControlLine: number,
  ) {
    this.longLine = Math.floor((maxControlLine - 64) / 3);
  }

  /** Publishes to `subject` (validated here, or cached) with a reply already known valid. */
  publishTo(
    subject: string,
    reply: string,
    payload: Uint8Array | string,
    headers: HeadersInit | undefined,
  ): Promise<void> | undefined {
    if (headers === undefined) {
      const prefix = this.prefixFor(subject);
      // The common case: a repeated subject, its `PUB <subject> ` bytes cached and validated.
      if (prefix !== undefined) return this.sendPrefixed(prefix, reply, payload);
    }
    checkPublishSubject(subject);
    return this.send(subject, reply, payload, headers);
  }

  /**
   * Publishes an answer to a received message's reply subject. That subject came off the wire,
   * so it is neither validated again nor put in the prefix cache (replies and acks are one-off
   * subjects).
   */
  respondTo(
    replySubject: string,
    data: Uint8Array | string | undefined,
    headers: HeadersInit | undefined,
  ): Promise<void> | undefined {
    if (!this.machine.publishable) throw this.machine.publishRefusal();
    return this.send(replySubject, '', data ?? EMPTY, headers);
  }

  /** Encodes a PUB/HPUB of a validated subject. */
  private send(
    subject: string,
    reply: string,
    payload: Uint8Array | string,
    headersInit: HeadersInit | undefined,
  ): Promise<void> | undefined {
    const size = payloadSize(payload);
    const headers = headersInit === undefined ? null : MsgHeaders.from(headersInit).encode();
    const total = size + (headers === null ? 0 : headers.length);
    if (total > this.maxPayload) throw new MaxPayloadError(total, this.maxPayload);
    if (subject.length + reply.length > this.longLine) {
      const op = headers === null ? 'PUB' : `HPUB`;
      const sizes = headers === null ? `${total}` : `${headers.length} ${total}`;
      checkControlLine(`${op} ${subject} ${reply} ${sizes}\r\n`, this.maxControlLine);
    }
    encodePub(this.outbound, subject, reply, payload, size, headers);
    return this.sent(total);
  }

  /** Encodes a PUB from a cached prefix: no headers, the reply (if any) already validated. */
  private sendPrefixed(
    prefix: Buffer,
    reply: string,
    payload: Uint8Array | string,
  ): Promise<void> | undefined {
    const size = payloadSize(payload);
    if (size > this.maxPayload) throw new MaxPayloadError(size, this.maxPayload);
    if (prefix.length + reply.length > this.longLine) {
      checkControlLine(`${prefix.toString()}${reply} ${size}\r\n`, this.maxControlLine);
    }
    encodePubPrefixed(this.outbound, prefix, reply, payload, size);
    return this.sent(size);
  }

  private sent(bytes: number): Promise<void> | undefined {
    this.outbound.written();
    this.counters.outMsgs++;
    this.counters.outBytes += bytes;
    return this.outbound.pressure();
  }

  /**
   * The cached `PUB <subject> ` bytes of a subject published before, or undefined. A subject
   * is cached the second time it is seen, so one-off subjects (replies, acks) never churn the
   * bounded cache.
   */
  private prefixFor(subject: string): Buffer | undefined {
    const cached = this.prefixes.get(subject);
    if (cached !== undefined) return cached;
    if (!this.seenOnce.has(subject)) {
      if (this.seenOnce.size >= 1024) this.seenOnce.clear();
      this.seenOnce.add(subject);
      return undefined;
    }
    checkPublishSubject(subject);
    if (this.prefixes.size >= 1024) this.prefixes.clear();
    const prefix = Buffer.from(`PUB ${subject} `);
    this.prefixes.set(subject, prefix);
    return prefix;
  }
}
