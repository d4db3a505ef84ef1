import { parseTime } from '../buckets/internal.js';
import { JetStreamApiError, MsgHeaders, type Msg } from '../core/internal.js';
import type { JsMsg } from '../jetstream/internal.js';
import type { KvOperation, KvWatchEntry } from './types.js';

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** A KV entry; `string()`/`json()` live on the prototype so entries stay cheap. */
export class Entry implements KvWatchEntry {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly value: Uint8Array,
    readonly revision: number,
    // The storage time, parsed on first access: most reads never look at it.
    private time: Date | string | undefined,
    readonly delta: number,
    readonly operation: KvOperation,
    readonly length: number,
    readonly isUpdate = false,
  ) {}

  get created(): Date {
    if (!(this.time instanceof Date)) this.time = parseTime(this.time);
    return this.time;
  }

  string(): string {
    return decoder.decode(this.value);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.string()) as T;
  }
}

/**
 * The operation recorded in headers: `KV-Operation`, else the server's `Nats-Marker-Reason`
 * (2.11+: MaxAge and Purge read as PURGE, Remove as DEL), else PUT.
 */
export function operationOf(h: MsgHeaders | undefined): KvOperation {
  if (h === undefined) return 'PUT';
  const op = h.get('KV-Operation');
  if (op === 'DEL' || op === 'PURGE') return op;
  const reason = h.get('Nats-Marker-Reason');
  if (reason === 'MaxAge' || reason === 'Purge') return 'PURGE';
  if (reason === 'Remove') return 'DEL';
  return 'PUT';
}

/** The size of the stored value: the payload, or `Nats-Msg-Size` for a headers-only delivery. */
function sizeOf(data: Uint8Array, h: MsgHeaders | undefined): number {
  const size = h?.get('Nats-Msg-Size');
  return size !== undefined && data.length === 0 ? Number(size) : data.length;
}

/**
 * A `DIRECT.GET` reply as an entry (markers included), or null for 404. Other status replies
 * reject with `JetStreamApiError`.
 */
export function entryFromDirect(bucket: string, prefixLen: number, msg: Msg): Entry | null {
  const h = msg.headers;
  if (h === undefined) throw new JetStreamApiError('direct get: reply without headers', 0, 500);
  if (h.status === 404) return null;
  if (h.status !== 0) {
    throw new JetStreamApiError(h.description.toLowerCase() || 'direct get failed', 0, h.status);
  }
  const subject = h.get('Nats-Subject') ?? '';
  return new Entry(
    bucket,
    subject.slice(prefixLen),
    msg.data,
    Number(h.get('Nats-Sequence')),
    h.get('Nats-Time-Stamp'),
    0,
    operationOf(h),
    msg.data.length,
  );
}

/** The `message` of a `STREAM.MSG.GET` response (base64 headers and data). */
export interface StoredMsgWire {
  subject: string;
  seq: number;
  hdrs?: string;
  data?: string;
  time: string;
}

/** A `STREAM.MSG.GET` message as an entry (markers included). */
export function entryFromMsgGet(bucket: string, prefixLen: number, m: StoredMsgWire): Entry {
  const data = m.data ? new Uint8Array(Buffer.from(m.data, 'base64')) : EMPTY;
  const h = m.hdrs ? MsgHeaders.decode(Buffer.from(m.hdrs, 'base64')) : undefined;
  return new Entry(
    bucket,
    m.subject.slice(prefixLen),
    data,
    m.seq,
    m.time,
    0,
    operationOf(h),
    data.length,
  );
}

/** A message delivered by a watch consumer as an entry; `delta` is its pending count. */
export function entryFromJsMsg(
  bucket: string,
  prefixLen: number,
  m: JsMsg,
  isUpdate: boolean,
): Entry {
  const meta = m.metadata;
  const h = m.headers;
  return new Entry(
    bucket,
    m.subject.slice(prefixLen),
    m.data,
    meta.sequence.stream,
    meta.timestamp,
    meta.numPending,
    operationOf(h),
    sizeOf(m.data, h),
    isUpdate,
  );
}
