// Atomic batch publish (ADR-50, nats-server 2.12+): every message carries `Nats-Batch-Id` and
// `Nats-Batch-Sequence`; the last one adds `Nats-Batch-Commit: 1` and alone gets a PubAck. The
// server stages the batch and stores all of it or nothing.
import {
  InvalidOperationError,
  InvalidOptionError,
  isSpanned,
  markSpanned,
  MsgHeaders,
  NoRespondersError,
  nuid,
  requireServer,
  type HeadersInit,
  type Msg,
} from '../core/internal.js';
import { decodeReply, type JsApi } from './api.js';
import { NoStreamForSubjectError, pubAckOf, type PubAck } from './publish.js';
import type { PubAckWire } from './wire-types.js';

/** The most messages one atomic batch may hold (the server's default `max_batch_size`). */
export const MAX_ATOMIC_BATCH_SIZE = 1000;

// Headers the batch sets itself, or that the server refuses in (part of) a batch.
const BATCH_ID = 'Nats-Batch-Id';
const BATCH_SEQ = 'Nats-Batch-Sequence';
const BATCH_COMMIT = 'Nats-Batch-Commit';
const RESERVED = [BATCH_ID, BATCH_SEQ, BATCH_COMMIT, 'Nats-Expected-Last-Msg-Id'];

/** Per-message options of `batch.add()` and `batch.commit()`. */
export interface BatchMsgOptions {
  /** De-duplication id (`Nats-Msg-Id`); must be unique within the batch. */
  msgId?: string;
  /** Conditions the stream checks at commit; one failed condition fails the whole batch. */
  expect?: {
    /** The stream that captures the subject must have this name. */
    stream?: string;
    /** The stream's last sequence before the batch; only on the batch's first message. */
    lastSequence?: number;
    /** The last sequence on this subject before the batch; not on a subject the batch wrote. */
    lastSubjectSequence?: number;
  };
  /** Headers to send with the message. */
  headers?: HeadersInit;
}

/** Options of `js.batch()`. */
export interface AtomicBatchOptions {
  /** Milliseconds to wait for each acknowledgement. @default the client's timeout (5000) */
  timeout?: number;
  /**
   * Every Nth message is sent as a request and awaited (the server acknowledges a staged message
   * with an empty reply), so a batch that stopped reaching the stream fails early; the first
   * message is always awaited. 0 awaits only the first and the commit. @default 100
   */
  ackEvery?: number;
}

/** The PubAck of a committed batch: `seq` is the sequence of its last message. */
export interface BatchPubAck extends PubAck {
  /** The batch id. */
  batch: string;
  /** How many messages the batch stored. */
  count: number;
}

interface Queued {
  subject: string;
  data: Uint8Array | string | undefined;
  headers: MsgHeaders;
}

type BatchAckWire = PubAckWire & { batch?: string; count?: number };

/**
 * An atomic batch being built: `add()` messages, then `commit()`. The last added message is held
 * back until the next call, so `commit()` without arguments commits it.
 */
export class AtomicBatch {
  /** The batch id (`Nats-Batch-Id`). */
  readonly id = nuid.next();
  private added = 0;
  private sent = 0;
  private held: Queued | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  // The first message's answer, read at the next checkpoint: the server refuses a batch it
  // cannot take (atomic publish disabled, too many in flight) there, and refuses every later
  // message of it too, so the messages after it need not wait a round trip for it.
  private firstAnswer: Promise<Error | undefined> | undefined;
  private done = false;
  private readonly msgIds = new Set<string>();
  private readonly subjects = new Set<string>();
  private readonly timeout: number;
  private readonly ackEvery: number;

  /** @internal Made by `js.batch()`. */
  constructor(
    private readonly api: JsApi,
    opts: AtomicBatchOptions = {},
  ) {
    requireServer(api.nc, '2.12.0', 'atomic batch publish');
    this.timeout = opts.timeout ?? api.timeout;
    this.ackEvery = opts.ackEvery ?? 100;
    if (!Number.isInteger(this.ackEvery) || this.ackEvery < 0)
      throw new InvalidOptionError(`ackEvery must be a whole number >= 0, got ${this.ackEvery}`);
  }

  /** How many messages were added so far (the commit message included once committed). */
  get count(): number {
    return this.added;
  }

  /**
   * Adds a message (sent with the next call: the last one is held back for `commit()`). Rejects with `InvalidOptionError` for the 1,001st message or an expectation the
   * batch cannot carry there, `InvalidOperationError` after the commit; rejects with the
   * server's error (`JetStreamApiError`, e.g. `ATOMIC_PUBLISH_DISABLED`) when staging failed.
   */
  async add(
    subject: string,
    data?: Uint8Array | string,
    opts: BatchMsgOptions = {},
  ): Promise<void> {
    const next = this.accept(subject, data, opts);
    const held = this.held;
    this.held = next;
    return held === undefined ? this.chain : this.enqueue(held, false);
  }

  /**
   * Commits the batch, with this message as its last or, without arguments, the last one added;
   * resolves the PubAck with `batch` and `count`. A failed batch stores nothing and rejects with
   * the server's `JetStreamApiError` (e.g. `WRONG_LAST_SEQUENCE`, `ATOMIC_PUBLISH_INCOMPLETE`).
   */
  async commit(
    subject?: string,
    data?: Uint8Array | string,
    opts?: BatchMsgOptions,
  ): Promise<BatchPubAck> {
    if (subject !== undefined) await this.add(subject, data, opts);
    else if (data !== undefined || opts !== undefined)
      throw new InvalidOptionError('commit() takes data only with a subject');
    const last = this.held;
    if (last === undefined) {
      if (this.done) throw new InvalidOperationError(`batch ${this.id} is already committed`);
      throw new InvalidOperationError('an atomic batch needs at least one message');
    }
    this.held = undefined;
    this.done = true;
    let ack: BatchPubAck | undefined;
    await this.enqueue(last, true, (a) => (ack = a));
    return ack as BatchPubAck;
  }

  private accept(
    subject: string,
    data: Uint8Array | string | undefined,
    opts: BatchMsgOptions,
  ): Queued {
    if (this.done) throw new InvalidOperationError(`batch ${this.id} is already committed`);
    const n = this.added + 1;
    if (n > MAX_ATOMIC_BATCH_SIZE)
      throw new InvalidOptionError(
        `an atomic batch holds at most ${MAX_ATOMIC_BATCH_SIZE} messages`,
      );
    const h = opts.headers === undefined ? new MsgHeaders() : MsgHeaders.from(opts.headers);
    // Headers that carry the span of the whole batch (ClientNats.emitBatch) get none per message.
    const headers = isSpanned(opts.headers) ? markSpanned(new MsgHeaders()) : new MsgHeaders();
    for (const [k, v] of h) {
      if (RESERVED.some((r) => r.toLowerCase() === k.toLowerCase()))
        throw new InvalidOptionError(`an atomic batch message cannot carry the header ${k}`);
      headers.set(k, v);
    }
    const e = opts.expect ?? {};
    const lastSeq = e.lastSequence ?? h.get('Nats-Expected-Last-Sequence');
    if (lastSeq !== undefined && n > 1)
      throw new InvalidOptionError(
        'only the first message of an atomic batch may expect a last sequence',
      );
    const subjSeq = e.lastSubjectSequence ?? h.get('Nats-Expected-Last-Subject-Sequence');
    if (subjSeq !== undefined && this.subjects.has(subject))
      throw new InvalidOptionError(
        `the batch already wrote ${subject}: a later message cannot expect its last sequence`,
      );
    if (opts.msgId !== undefined) {
      if (this.msgIds.has(opts.msgId))
        throw new InvalidOptionError(`message id ${opts.msgId} repeats within the batch`);
      this.msgIds.add(opts.msgId);
      headers.set('Nats-Msg-Id', opts.msgId);
    }
    if (e.stream !== undefined) headers.set('Nats-Expected-Stream', e.stream);
    if (e.lastSequence !== undefined)
      headers.set('Nats-Expected-Last-Sequence', `${e.lastSequence}`);
    if (e.lastSubjectSequence !== undefined)
      headers.set('Nats-Expected-Last-Subject-Sequence', `${e.lastSubjectSequence}`);
    this.subjects.add(subject);
    this.added = n;
    return { subject, data, headers };
  }

  // Sends in order even when calls are not awaited; the first failure fails every later call.
  private enqueue(q: Queued, commit: boolean, onAck?: (ack: BatchPubAck) => void): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      try {
        const ack = await this.send(q, commit);
        if (ack !== undefined) onAck?.(ack);
      } catch (err) {
        // Only the connection's requests and publishes run here: they reject with NatsErrors.
        this.failure = err as Error;
        throw this.failure;
      }
    });
    return this.chain;
  }

  private async send(q: Queued, commit: boolean): Promise<BatchPubAck | undefined> {
    const seq = ++this.sent;
    const headers = q.headers;
    headers.set(BATCH_ID, this.id);
    headers.set(BATCH_SEQ, `${seq}`);
    if (commit) headers.set(BATCH_COMMIT, '1');
    if (seq === 1 && !commit) {
      this.firstAnswer = this.stage(q).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      return undefined;
    }
    const awaited = commit || (this.ackEvery > 0 && seq % this.ackEvery === 0);
    if (!awaited) {
      await this.api.nc.publish(q.subject, q.data, { headers });
      return undefined;
    }
    const first = await this.firstAnswer;
    this.firstAnswer = undefined;
    if (first !== undefined) throw first;
    if (!commit) return this.stage(q);
    const ack = decodeReply<BatchAckWire>(await this.ask(q));
    return { ...pubAckOf(ack), batch: ack.batch ?? this.id, count: ack.count ?? seq };
  }

  /** Sends a staged (not the last) message as a request, and checks its empty answer. */
  private async stage(q: Queued): Promise<undefined> {
    const reply = await this.ask(q);
    if (reply.data.length > 0) decodeReply<PubAckWire>(reply);
    return undefined;
  }

  private async ask(q: Queued): Promise<Msg> {
    const headers = q.headers;
    let reply: Msg;
    try {
      reply = await this.api.nc.request(q.subject, q.data, { headers, timeout: this.timeout });
    } catch (err) {
      if (err instanceof NoRespondersError) throw new NoStreamForSubjectError(q.subject);
      throw err;
    }
    return reply;
  }
}
