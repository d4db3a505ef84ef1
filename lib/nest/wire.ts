import {
  MsgHeaders,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
  type Msg,
} from '../core/internal.js';
import { NatsRecord } from './nats-record.js';

/** Header on every reply of a streamed (Observable) response except the last. */
export const STREAM_HEADER = 'Nats-Stream';
/** Header of the empty message that ends a stream that produced no value. */
export const STREAM_END_HEADER = 'Nats-Stream-End';
export const ERROR_HEADER = SERVICE_ERROR_HEADER;
export const ERROR_CODE_HEADER = SERVICE_ERROR_CODE_HEADER;

const decoder = new TextDecoder();

/** Plain JSON on the wire: an empty payload is `undefined`; text that is not JSON stays a string. */
export function decodePayload(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  // The core hands out Buffer views; their toString beats TextDecoder on small payloads.
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : decoder.decode(data);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function encodePayload(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** Nest's built-in NATS envelope: `{ pattern, data, id? }`. */
export interface NestEnvelope {
  pattern: unknown;
  data: unknown;
  id?: string;
}

/**
 * Recognises a packet sent by Nest's built-in NATS client, so it can be answered in kind. Only
 * `pattern`, `data` and `id` keys; a string pattern must be the subject it was published to
 * (the built-in client publishes to its pattern); a request (with a reply subject) must carry
 * its `id`, as the built-in client's always do. Anything else is a plain JSON payload that
 * happens to look similar, e.g. `{ pattern: 'a*' }` from any other client.
 */
export function asNestEnvelope(
  value: unknown,
  msg: Pick<Msg, 'subject' | 'reply'>,
): NestEnvelope | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (!keys.includes('pattern') || keys.some((k) => k !== 'pattern' && k !== 'data' && k !== 'id'))
    return undefined;
  const { id, pattern } = value as NestEnvelope;
  if (id !== undefined && typeof id !== 'string') return undefined;
  if (msg.reply && id === undefined) return undefined;
  if (typeof pattern === 'string' && pattern !== msg.subject) return undefined;
  return value as NestEnvelope;
}

/**
 * A reply as `send()` emits it for a `replyAsRecord()` request: the decoded payload and the
 * reply's headers, without the stream marker (transport bookkeeping, not the handler's).
 */
export function replyRecord(msg: Msg): NatsRecord {
  let headers = msg.hasHeaders ? msg.headers : undefined;
  if (headers?.delete(STREAM_HEADER) && headers.size === 0) headers = undefined;
  return new NatsRecord(decodePayload(msg.data), headers);
}

/** Splits a handler's result into the payload and any reply headers it set via `NatsRecord`. */
export function unwrapRecord(value: unknown): { data: unknown; headers: MsgHeaders | undefined } {
  return value instanceof NatsRecord
    ? { data: value.data, headers: value.headers }
    : { data: value, headers: undefined };
}

/** What goes back to a caller for a handler error: a numeric code, a message and a JSON body. */
export interface WireError {
  code: number;
  message: string;
  body: Record<string, unknown>;
}

/**
 * Normalises whatever Nest's exception layer produced (an `RpcException`'s object or string,
 * `{ status: 'error', message }` for unknown errors, or an Error) into a wire error.
 */
export function toWireError(err: unknown): WireError {
  if (typeof err === 'string') return { code: 500, message: err, body: { message: err } };
  if (err instanceof Error) {
    const code = numericCode(err as unknown as Record<string, unknown>);
    const extra = (err as unknown as { code?: unknown }).code;
    return {
      code,
      message: err.message,
      body: {
        message: err.message,
        ...(extra !== undefined ? { code: extra } : {}),
        name: err.name,
      },
    };
  }
  if (typeof err === 'object' && err !== null) {
    const body = { ...(err as Record<string, unknown>) };
    return { code: numericCode(body), message: describeObject(body), body };
  }
  return { code: 500, message: String(err), body: { message: String(err) } };
}

/** A one-line description of an error object: its message (or messages, as ValidationPipe gives). */
function describeObject(body: Record<string, unknown>): string {
  const m = body.message;
  if (typeof m === 'string') return m;
  if (Array.isArray(m) && m.length > 0 && m.every((x) => typeof x === 'string'))
    return m.join('; ');
  try {
    return JSON.stringify(body);
  } catch {
    return 'error';
  }
}

function numericCode(o: Record<string, unknown>): number {
  for (const key of ['statusCode', 'status', 'code']) {
    const v = o[key];
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : NaN;
    if (Number.isInteger(n) && n >= 100 && n <= 999) return n;
  }
  return 500;
}

/** Headers of an error reply. Header values must stay on one line. */
export function errorHeaders(e: WireError): MsgHeaders {
  return new MsgHeaders({
    [ERROR_HEADER]: e.message.replace(/[\r\n]+/g, ' '),
    [ERROR_CODE_HEADER]: String(e.code),
  });
}

/** True when a reply says more replies follow. */
export function hasMore(msg: Msg): boolean {
  return msg.hasHeaders && msg.headers!.get(STREAM_HEADER) === 'more';
}

/** True for the empty message that ends a stream without a value. */
export function isStreamEnd(msg: Msg): boolean {
  return msg.hasHeaders && msg.headers!.has(STREAM_END_HEADER);
}
