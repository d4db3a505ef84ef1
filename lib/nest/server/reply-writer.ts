import {
  ErrorCode,
  MaxPayloadError,
  copyHeaders,
  MsgHeaders,
  type Msg,
} from '../../core/internal.js';
import { ServiceMsg } from '../../services/internal.js';
import {
  ERROR_CODE_HEADER,
  ERROR_HEADER,
  STREAM_END_HEADER,
  STREAM_HEADER,
  encodePayload,
  errorHeaders,
  toWireError,
  unwrapRecord,
} from '../wire.js';

/**
 * Where a reply goes: a core message, or a Service API request (a `ServiceMsg`, whose error
 * replies also count in the endpoint's stats).
 */
export type ReplyTarget = Pick<Msg, 'reply' | 'subject' | 'respond'>;

/**
 * One reply, in one of the two formats a caller can speak. The third protocol, the Service API,
 * is chosen by the target: an error reply to a `ServiceMsg` goes through `respondError()`.
 */
export type Reply =
  /**
   * Plain JSON: the value (a `NatsRecord`'s data, with its headers). `more` marks a streamed
   * reply that is not the last one.
   */
  | { kind: 'value'; value: unknown; more?: boolean }
  /** Plain JSON: the empty message that ends a stream which produced no value. */
  | { kind: 'end' }
  /** Plain JSON: an error, as the error headers and the error's JSON body. */
  | { kind: 'error'; error: unknown }
  /**
   * One packet of the envelope NestJS' built-in NATS client expects: `{ id, response }` per
   * value (a `NatsRecord`'s data, its headers on the message), `{ id, err, isDisposed }` for an
   * error, `isDisposed` on the last one.
   */
  | { kind: 'nest'; id: string; response?: unknown; err?: unknown; isDisposed?: true };

/** The bytes and headers of one reply message. */
export interface ReplyPacket {
  payload: string;
  headers: MsgHeaders | undefined;
}

/** The error a caller gets for a reply the server would refuse as too large. */
export function tooLargeError(err: unknown): Record<string, unknown> {
  const message = err instanceof Error ? err.message : String(err);
  return {
    statusCode: 413,
    message: `reply not sent: ${message}`,
    code: ErrorCode.MAX_PAYLOAD_EXCEEDED,
  };
}

/**
 * Writes the replies of the request handlers. `write()` is the only way in. A reply that cannot
 * be sent as asked (its value cannot be encoded, or it is larger than the server's max_payload,
 * which the caller would only see as a timeout) is answered with an error reply instead: the
 * fallback is built here, once, from simple parts that always encode, and is written without
 * going through `write()` again, so a failing fallback ends in a log line, never in a loop.
 */
export class ReplyWriter {
  /** `cannotReply` gets what could not be sent at all (logged by the transport). */
  constructor(private readonly cannotReply: (subject: string, err: unknown) => void) {}

  /** Sends `reply` to `target` (nothing when the request has no reply subject). */
  write(target: ReplyTarget, reply: Reply): void {
    if (!target.reply) return;
    let packet: ReplyPacket;
    try {
      packet = encode(reply);
    } catch (err) {
      // A cycle, a BigInt, a toJSON that throws: the caller is told instead.
      this.fallBack(target, reply, err);
      return;
    }
    const failure = this.publish(target, packet);
    if (failure === undefined) return;
    if (failure instanceof MaxPayloadError) this.fallBack(target, reply, tooLarge(reply, failure));
    else this.cannotReply(target.subject, failure);
  }

  /**
   * Sends the first of the fallback packets the server accepts. Only a too-large one moves on to
   * the next (a shorter body); any other failure, or running out, is logged.
   */
  private fallBack(target: ReplyTarget, reply: Reply, cause: unknown): void {
    let packets: ReplyPacket[];
    try {
      packets = fallbacks(reply, cause);
    } catch (err) {
      // An error object whose fields throw when read: nothing sensible is left to send.
      this.cannotReply(target.subject, err);
      return;
    }
    let failure: unknown;
    for (const packet of packets) {
      failure = this.publish(target, packet);
      if (failure === undefined) return;
      if (!(failure instanceof MaxPayloadError)) break;
    }
    this.cannotReply(target.subject, failure);
  }

  /**
   * Publishes one reply message; returns what it threw, if anything. An error reply to a Service
   * API request goes through `respondError()`, so the endpoint's stats count it.
   */
  private publish(target: ReplyTarget, { payload, headers }: ReplyPacket): unknown {
    try {
      const code = headers?.get(ERROR_CODE_HEADER);
      if (target instanceof ServiceMsg && code !== undefined) {
        void target.respondError(Number(code), headers?.get(ERROR_HEADER) || 'error', payload);
      } else {
        void target.respond(payload, headers ? { headers } : undefined);
      }
      return undefined;
    } catch (err) {
      return err;
    }
  }
}

/** The reply as it goes on the wire; throws when its value cannot be encoded. */
function encode(reply: Reply): ReplyPacket {
  switch (reply.kind) {
    case 'value': {
      const { data, headers } = unwrapRecord(reply.value);
      // The marker goes on a copy: records of one stream may share a headers object, and the
      // last reply must not inherit the marker from the ones before it.
      const h = reply.more ? withHeader(headers, STREAM_HEADER, 'more') : headers;
      return { payload: encodePayload(data), headers: h };
    }
    case 'end':
      return { payload: '', headers: new MsgHeaders({ [STREAM_END_HEADER]: 'true' }) };
    case 'error': {
      const wire = toWireError(reply.error);
      return { payload: JSON.stringify(wire.body), headers: errorHeaders(wire) };
    }
    case 'nest': {
      const { data, headers } = unwrapRecord(reply.response);
      const { id, err, isDisposed } = reply;
      return { payload: JSON.stringify({ id, response: data, err, isDisposed }), headers };
    }
  }
}

/** What the caller is told when the server refuses `reply` as too large. */
function tooLarge(reply: Reply, err: MaxPayloadError): unknown {
  // Nest's client gets the error itself in its envelope; a plain caller a 413.
  return reply.kind === 'nest' ? err : tooLargeError(err);
}

/**
 * The error replies that answer instead of `reply`, which failed with `cause`, in the order to
 * try them: the full error body, then only its message (for a body that cannot be encoded or is
 * too large). Every packet here encodes.
 */
function fallbacks(reply: Reply, cause: unknown): ReplyPacket[] {
  if (reply.kind === 'nest') {
    const { message, body } = toWireError(cause);
    let payload: string;
    try {
      payload = JSON.stringify({ id: reply.id, err: body, isDisposed: true });
    } catch {
      payload = JSON.stringify({ id: reply.id, err: { message }, isDisposed: true });
    }
    return [{ payload, headers: undefined }];
  }
  // An error reply that failed is sent again with a brief body; any other becomes an error reply.
  const error = reply.kind === 'error' ? reply.error : cause;
  const wire = toWireError(error);
  const headers = errorHeaders(wire);
  const brief = { payload: JSON.stringify({ message: wire.message.slice(0, 1024) }), headers };
  if (reply.kind === 'error') return [brief];
  let full: string;
  try {
    full = JSON.stringify(wire.body);
  } catch {
    return [brief];
  }
  return [{ payload: full, headers }, brief];
}

/** A copy of `headers` (or new headers) with `name` set. */
function withHeader(headers: MsgHeaders | undefined, name: string, value: string): MsgHeaders {
  return copyHeaders(headers).set(name, value);
}
