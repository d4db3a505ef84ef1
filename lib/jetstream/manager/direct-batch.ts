// Batch and multi-last direct get (ADR-31, nats-server 2.11+): one request, many replies, ended
// by an empty `204 EOB` status carrying `Nats-Num-Pending`; the caller asks again from the last
// sequence until nothing is pending. Older servers (and streams without direct get) are read
// one message per request instead.
import {
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  MsgHeaders,
  requireServer,
  serverAtLeast,
  TimeoutError,
  type Msg,
} from '../../core/internal.js';
import { checkName, type JsApi } from '../api.js';
import type { MsgGetWire } from '../wire-types.js';
import { fromDirectGet, fromMsgGet, type StoredMsg } from './stored-msg.js';
import type { StreamInfo } from '../stream-config.js';

/** What these reads need of `StreamsApi` (not imported: streams.ts imports this file). */
interface StreamsApi {
  info(name: string, opts?: { subjectsFilter?: string }): Promise<StreamInfo>;
  getMessage(name: string, query: { lastBySubject: string }): Promise<StoredMsg>;
}

/** Where `streams.getBatch()` starts and how much each request reads. */
export interface BatchGetOptions {
  /** The first stream sequence to read (not with `startTime`). @default 1 */
  seq?: number;
  /** Read from the first message stored at or after this time (nats-server 2.11+). */
  startTime?: Date;
  /** Only messages on this subject (wildcards allowed). @default every subject */
  subject?: string;
  /** Messages per request; the iterator asks again until nothing is pending. @default 100 */
  batch?: number;
  /** Bytes per request (the server stops a page once it has sent this much). */
  maxBytes?: number;
}

/** Options of `streams.getLast()`. */
export interface LastGetOptions {
  /** Read the subjects as they were at this stream sequence (nats-server 2.11+). */
  upToSeq?: number;
  /** Read the subjects as they were at this time (nats-server 2.11+). */
  upToTime?: Date;
  /** Messages per request. @default the server decides (its max pending bytes) */
  batch?: number;
}

const BATCH_HEADERS = ['Nats-Num-Pending', 'Nats-Last-Sequence', 'Nats-UpTo-Sequence'];
const BATCH_GET_SINCE = '2.11.0';

interface Page {
  msgs: StoredMsg[];
  /** Messages left after this page; undefined when the server does not batch (pre-2.11). */
  pending: number | undefined;
  upTo: number | undefined;
}

function positive(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1))
    throw new InvalidOptionError(`${name} must be a whole number >= 1, got ${v}`);
}

function statusError(msg: Msg): JetStreamApiError {
  const h = msg.headers;
  const text = (h?.description || 'direct get failed').toLowerCase();
  return new JetStreamApiError(
    text,
    h?.status === 404 ? JsApiCode.NO_MESSAGE_FOUND : 0,
    h?.status ?? 500,
  );
}

function withoutBatchHeaders(m: StoredMsg): StoredMsg {
  if (m.headers === undefined) return m;
  const rest = new MsgHeaders();
  for (const [k, v] of m.headers) if (!BATCH_HEADERS.includes(k)) rest.set(k, v);
  return { ...m, headers: rest.size > 0 ? rest : undefined };
}

/** One batched DIRECT.GET: the replies up to the EOB marker (a 404 first means none). */
async function page(
  api: JsApi,
  stream: string,
  body: Record<string, unknown>,
  multi = false,
): Promise<Page> {
  const nc = api.nc;
  const sub = nc.subscribe(nc.newInbox());
  try {
    nc.publish(api.subject(`DIRECT.GET.${stream}`), JSON.stringify(body), { reply: sub.subject });
    const msgs: StoredMsg[] = [];
    // 2.11 sends a multi-last EOB with one pending too few once `batch` cuts a page short; the
    // last message's own count is right there (a batch get's is one too many on 2.11).
    let lastPending = 0;
    for (;;) {
      let msg: Msg;
      try {
        msg = await sub.nextMsg(api.timeout);
      } catch (err) {
        if (err instanceof TimeoutError && msgs.length === 0)
          throw new TimeoutError(`no direct get reply from stream ${stream}`);
        throw err;
      }
      const h = msg.headers;
      const status = h?.status ?? 0;
      if (status === 204) {
        const num = (name: string) => (h?.has(name) ? Number(h.get(name)) : undefined);
        const eob = num('Nats-Num-Pending') ?? 0;
        const pending = multi ? Math.max(eob, lastPending) : eob;
        return { msgs, pending, upTo: num('Nats-UpTo-Sequence') };
      }
      if (status === 404 && msgs.length === 0) return { msgs, pending: 0, upTo: undefined };
      if (status !== 0 && msg.data.length === 0) throw statusError(msg);
      msgs.push(withoutBatchHeaders(fromDirectGet(msg)));
      // A server without batch get answers once, without Nats-Num-Pending.
      if (!h?.has('Nats-Num-Pending')) return { msgs, pending: undefined, upTo: undefined };
      lastPending = Number(h.get('Nats-Num-Pending'));
    }
  } finally {
    sub.unsubscribe();
  }
}

/** One message at or after `seq` (on `subject`), through direct get or the leader; null at the end. */
async function single(
  api: JsApi,
  stream: string,
  direct: boolean,
  body: Record<string, unknown>,
): Promise<StoredMsg | null> {
  try {
    if (direct) return fromDirectGet(await api.raw(`DIRECT.GET.${stream}`, body));
    return fromMsgGet(await api.request<MsgGetWire>(`STREAM.MSG.GET.${stream}`, body));
  } catch (err) {
    if (err instanceof JetStreamApiError && err.apiCode === JsApiCode.NO_MESSAGE_FOUND) return null;
    throw err;
  }
}

/** The messages of `streams.getBatch()`, page by page. */
export async function* getBatch(
  api: JsApi,
  streams: StreamsApi,
  stream: string,
  opts: BatchGetOptions = {},
): AsyncGenerator<StoredMsg> {
  checkName('stream', stream);
  if (opts.seq !== undefined && opts.startTime !== undefined)
    throw new InvalidOptionError('getBatch() takes seq or startTime, not both');
  positive('seq', opts.seq);
  positive('batch', opts.batch);
  positive('maxBytes', opts.maxBytes);
  if (opts.startTime !== undefined) requireServer(api.nc, BATCH_GET_SINCE, 'getBatch() startTime');
  const next = opts.subject ?? '>';
  const start: Record<string, unknown> =
    opts.startTime !== undefined
      ? { start_time: opts.startTime.toISOString() }
      : { seq: opts.seq ?? 1 };
  const direct = (await streams.info(stream)).config.allowDirect === true;
  let cursor: number | undefined;
  if (direct && serverAtLeast(api.nc, BATCH_GET_SINCE)) {
    const body: Record<string, unknown> = {
      ...start,
      next_by_subj: next,
      batch: opts.batch ?? 100,
    };
    if (opts.maxBytes !== undefined) body.max_bytes = opts.maxBytes;
    for (;;) {
      const p = await page(api, stream, body);
      for (const m of p.msgs) yield m;
      const last = p.msgs.at(-1);
      if (last === undefined || p.pending === 0) return;
      cursor = last.seq + 1;
      if (p.pending === undefined) break;
      delete body.start_time;
      body.seq = cursor;
    }
  }
  // One message per request: pre-2.11 servers, streams without direct get.
  let body: Record<string, unknown> = cursor === undefined ? { ...start } : { seq: cursor };
  for (;;) {
    const m = await single(api, stream, direct, { ...body, next_by_subj: next });
    if (m === null) return;
    yield m;
    body = { seq: m.seq + 1 };
  }
}

/** The messages of `streams.getLast()`: the last message of each subject, in stream order. */
export async function* getLast(
  api: JsApi,
  streams: StreamsApi,
  stream: string,
  subjects: string[],
  opts: LastGetOptions = {},
): AsyncGenerator<StoredMsg> {
  checkName('stream', stream);
  if (subjects.length === 0) throw new InvalidOptionError('getLast() needs at least one subject');
  if (opts.upToSeq !== undefined && opts.upToTime !== undefined)
    throw new InvalidOptionError('getLast() takes upToSeq or upToTime, not both');
  positive('upToSeq', opts.upToSeq);
  positive('batch', opts.batch);
  const upTo = opts.upToSeq !== undefined || opts.upToTime !== undefined;
  if (upTo) requireServer(api.nc, BATCH_GET_SINCE, 'getLast() upToSeq / upToTime');
  const batched = serverAtLeast(api.nc, BATCH_GET_SINCE);
  if (!batched || (await streams.info(stream)).config.allowDirect !== true) {
    if (upTo)
      throw new InvalidOptionError('getLast() upToSeq / upToTime need direct get on the stream');
    yield* lastOneByOne(streams, stream, subjects);
    return;
  }
  const body: Record<string, unknown> = { multi_last: subjects };
  if (opts.upToSeq !== undefined) body.up_to_seq = opts.upToSeq;
  if (opts.upToTime !== undefined) body.up_to_time = opts.upToTime.toISOString();
  if (opts.batch !== undefined) body.batch = opts.batch;
  for (;;) {
    const p = await page(api, stream, body, true);
    for (const m of p.msgs) yield m;
    const last = p.msgs.at(-1);
    if (last === undefined || !p.pending) return;
    // Later pages read the same point in time: up to the sequence the first page reported.
    delete body.up_to_time;
    if (p.upTo !== undefined) body.up_to_seq = p.upTo;
    body.seq = last.seq + 1;
  }
}

/** Pre-2.11: each subject's last message by its own get (wildcards expanded from stream info). */
async function* lastOneByOne(
  streams: StreamsApi,
  stream: string,
  subjects: string[],
): AsyncGenerator<StoredMsg> {
  const literal = new Set<string>();
  for (const s of subjects) {
    if (!/(^|\.)(\*|>)(\.|$)/.test(s)) literal.add(s);
    else {
      const info = await streams.info(stream, { subjectsFilter: s });
      for (const name of Object.keys(info.state.subjects ?? {})) literal.add(name);
    }
  }
  const found: StoredMsg[] = [];
  for (const s of literal) {
    try {
      found.push(await streams.getMessage(stream, { lastBySubject: s }));
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.apiCode === JsApiCode.NO_MESSAGE_FOUND))
        throw err;
    }
  }
  found.sort((a, b) => a.seq - b.seq);
  yield* found;
}
