import {
  MsgHeaders,
  NoRespondersError,
  telemetryOf,
  type HeadersInit,
  type Msg,
  type NatsConnection,
} from '../core/internal.js';
import { decodeReply, type JsApi } from './api.js';
import { TTL_HEADER, ttlHeaderValue } from './ttl.js';
import type { PubAckWire } from './wire-types.js';

/** Conditions the stream checks before storing a message. */
export interface PublishExpectations {
  /** The stream that captures the subject must have this name (10060 otherwise). */
  stream?: string;
  /** The stream's last sequence must equal this (10071 otherwise). */
  lastSequence?: number;
  /** The stream's last `Nats-Msg-Id` must equal this (10070 otherwise). */
  lastMsgId?: string;
  /** The last sequence on this subject must equal this; 0 means "no message yet" (10071). */
  lastSubjectSequence?: number;
}

/** Options of `js.publish()`. */
export interface JsPublishOptions {
  /** De-duplication id (`Nats-Msg-Id`). */
  msgId?: string;
  /** Conditions the stream checks before storing; a failed one rejects with `JetStreamApiError`. */
  expect?: PublishExpectations;
  /** Headers to send with the message. */
  headers?: HeadersInit;
  /** Milliseconds to wait for the PubAck. @default the client's timeout (5000) */
  timeout?: number;
  /** Retries after a 503 (no stream, or an election). @default 2 */
  retries?: number;
  /** Milliseconds between retries. @default 250 */
  retryWait?: number;
  /**
   * How long the stream keeps this message (the `Nats-TTL` header): milliseconds in whole
   * seconds, at least 1000, or `'never'` to keep it past the stream's `maxAge`. Needs
   * nats-server 2.11+ and a stream with `allowMsgTtl` (else `MessageTtlDisabledError`).
   */
  ttl?: number | 'never';
}

/** The stream's acknowledgement of a stored message. */
export interface PubAck {
  /** The stream that stored the message. */
  stream: string;
  /** The message's sequence in that stream. */
  seq: number;
  /** True when the message id was seen before; `seq` is then the original's. */
  duplicate: boolean;
  /** The JetStream domain of the stream, if it has one. */
  domain?: string;
}

/** No stream captured the subject of a JetStream publish (the server answered 503). */
export class NoStreamForSubjectError extends NoRespondersError {
  constructor(subject: string) {
    super(subject);
    this.message = `no stream matches subject ${subject} (no responders; in a cluster the stream may also be electing a leader)`;
  }
}

function publishHeaders(nc: NatsConnection, opts: JsPublishOptions): MsgHeaders | undefined {
  const e = opts.expect;
  const ttl = opts.ttl === undefined ? undefined : ttlHeaderValue(nc, opts.ttl);
  if (opts.headers === undefined && opts.msgId === undefined && e === undefined && !ttl)
    return undefined;
  const h = new MsgHeaders();
  if (opts.headers !== undefined) for (const [k, v] of MsgHeaders.from(opts.headers)) h.set(k, v);
  if (opts.msgId !== undefined) h.set('Nats-Msg-Id', opts.msgId);
  if (e?.stream !== undefined) h.set('Nats-Expected-Stream', e.stream);
  if (e?.lastSequence !== undefined) h.set('Nats-Expected-Last-Sequence', `${e.lastSequence}`);
  if (e?.lastMsgId !== undefined) h.set('Nats-Expected-Last-Msg-Id', e.lastMsgId);
  if (e?.lastSubjectSequence !== undefined)
    h.set('Nats-Expected-Last-Subject-Sequence', `${e.lastSubjectSequence}`);
  if (ttl !== undefined) h.set(TTL_HEADER, ttl);
  return h;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The PubAck of a decoded stream acknowledgement (also the base of a batch's). */
export function pubAckOf(ack: PubAckWire): PubAck {
  const out: PubAck = { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
  if (ack.domain) out.domain = ack.domain;
  return out;
}

const toPubAck = (msg: Msg): PubAck => pubAckOf(decodeReply<PubAckWire>(msg));

/**
 * Publishes to a stream subject and resolves the stream's PubAck. Rejects with
 * `JetStreamApiError` (failed expectation, with `apiCode`), `MessageTtlDisabledError`,
 * `NoStreamForSubjectError` when no stream captures the subject, or `TimeoutError`; rejects with
 * `InvalidOptionError` or `FeatureNotSupportedError` for a `ttl` before sending.
 */
export function jsPublish(
  api: JsApi,
  subject: string,
  data?: Uint8Array | string,
  opts: JsPublishOptions = {},
): Promise<PubAck> {
  // Not an async function: this runs once per message, and an async frame plus its promise was
  // the largest allocation of a JetStream publish.
  let headers: MsgHeaders | undefined;
  try {
    headers = publishHeaders(api.nc, opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const tel = telemetryOf(api.nc);
  if (tel === undefined || tel.hooks === null) return attempt(api, subject, data, headers, opts, 0);
  // A PRODUCER `publish {subject}` span until the PubAck.
  const traced = tel.begin('publish', subject, data, headers, {
    'messaging.message.id': opts.msgId,
  });
  return attempt(api, subject, data, traced?.headers ?? headers, opts, 0).then(
    (ack) => {
      traced?.span.setAttributes({
        'messaging.nats.stream': ack.stream,
        'messaging.nats.stream.sequence': ack.seq,
      });
      traced?.span.end();
      return ack;
    },
    (err: Error) => {
      traced?.span.end(err);
      throw err;
    },
  );
}

/** One request for the PubAck; a 503 (no stream yet, or an election) is retried `retries` times. */
function attempt(
  api: JsApi,
  subject: string,
  data: Uint8Array | string | undefined,
  headers: MsgHeaders | undefined,
  opts: JsPublishOptions,
  done: number,
): Promise<PubAck> {
  const timeout = opts.timeout ?? api.timeout;
  return api.nc.request(subject, data, { timeout, headers }).then(toPubAck, (err: unknown) => {
    if (!(err instanceof NoRespondersError)) throw err;
    if (done >= (opts.retries ?? 2)) throw new NoStreamForSubjectError(subject);
    return sleep(opts.retryWait ?? 250).then(() =>
      attempt(api, subject, data, headers, opts, done + 1),
    );
  });
}
