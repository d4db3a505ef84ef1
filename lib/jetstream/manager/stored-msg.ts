import { JetStreamApiError, JsApiCode, MsgHeaders, type Msg } from '../../core/internal.js';
import type { MsgGetWire } from '../wire-types.js';

/** A message read straight from a stream by `jsm.streams.getMessage()`. */
export interface StoredMsg {
  /** The subject it was stored under. */
  subject: string;
  /** Its sequence in the stream. */
  seq: number;
  /** The payload. */
  data: Uint8Array;
  /** The headers it was published with, or undefined. */
  headers: MsgHeaders | undefined;
  /** When the stream stored it. */
  time: Date;
  /** The payload decoded as UTF-8. */
  string(): string;
  /** The payload parsed as JSON. */
  json<T = unknown>(): T;
}

const decoder = new TextDecoder();
const DIRECT_HEADERS = ['Nats-Stream', 'Nats-Subject', 'Nats-Sequence', 'Nats-Time-Stamp'];

/** Parses an RFC 3339 timestamp with up to nanosecond precision (kept to milliseconds). */
export function parseRfc3339(ts: string): Date {
  return new Date(ts.replace(/(\.\d{3})\d+/, '$1'));
}

function stored(
  subject: string,
  seq: number,
  data: Uint8Array,
  headers: MsgHeaders | undefined,
  time: Date,
): StoredMsg {
  return {
    subject,
    seq,
    data,
    headers,
    time,
    string: () => decoder.decode(data),
    json: <T>() => JSON.parse(decoder.decode(data)) as T,
  };
}

/** A `STREAM.MSG.GET` response (base64 headers and data) as a StoredMsg. */
export function fromMsgGet(wire: MsgGetWire): StoredMsg {
  const m = wire.message;
  const data = m.data ? new Uint8Array(Buffer.from(m.data, 'base64')) : new Uint8Array(0);
  const headers = m.hdrs ? MsgHeaders.decode(Buffer.from(m.hdrs, 'base64')) : undefined;
  return stored(m.subject, m.seq, data, headers, parseRfc3339(m.time));
}

/**
 * A `DIRECT.GET` reply as a StoredMsg: the server's `Nats-*` headers give subject, sequence and
 * time and are removed. A status reply (404 Message Not Found...) becomes a JetStreamApiError.
 */
export function fromDirectGet(msg: Msg): StoredMsg {
  const h = msg.headers;
  if (h === undefined || (h.status !== 0 && msg.data.length === 0)) {
    const status = h?.status ?? 500;
    const text = h?.description || 'direct get failed';
    throw new JetStreamApiError(
      text.toLowerCase(),
      status === 404 ? JsApiCode.NO_MESSAGE_FOUND : 0,
      status,
    );
  }
  const subject = h.get('Nats-Subject') ?? '';
  const seq = Number(h.get('Nats-Sequence') ?? 0);
  const time = parseRfc3339(h.get('Nats-Time-Stamp') ?? '');
  const rest = new MsgHeaders();
  for (const [k, v] of h) if (!DIRECT_HEADERS.includes(k)) rest.set(k, v);
  return stored(subject, seq, msg.data, rest.size > 0 ? rest : undefined, time);
}
