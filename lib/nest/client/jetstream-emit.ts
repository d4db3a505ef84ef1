// The JetStream side of ClientNats.emit() and emitBatch(): a record's msgId, expectStream, TTL
// and schedule become a js.publish(), a js.schedule() or one message of an atomic batch. Each
// feature the server lacks fails with FeatureNotSupportedError before anything is sent.
import {
  InvalidOptionError,
  copyHeaders,
  markSpanned,
  MsgHeaders,
  nuid,
  telemetryOf,
  type NatsConnection,
  type TelemetrySpan,
} from '../../core/internal.js';
import {
  MAX_ATOMIC_BATCH_SIZE,
  TTL_HEADER,
  ttlHeaderValue,
  type BatchMsgOptions,
  type BatchPubAck,
  type PubAck,
} from '../../jetstream/internal.js';
import type { NatsRecordJetStream } from '../nats-record.js';

/** The default first token of the subjects that hold delayed events until they fire. */
export const DEFAULT_SCHEDULE_PREFIX = '_schedules';

/** The PubAck of a delayed event: the stream stored its schedule, on `schedule`. */
export interface ScheduledPubAck extends PubAck {
  /** The subject holding the schedule until it fires; `ClientNats.cancelSchedule()` takes it. */
  schedule: string;
}

/** An event of `ClientNats.emitBatch()`: a subject and its payload (a value or a `NatsRecord`). */
export interface NatsBatchEvent {
  /** The subject (a Nest pattern, normalised as `emit()` does). */
  pattern: unknown;
  /** The payload, or a `NatsRecord` with headers, `msgId`, `expectStream` or a TTL. */
  data: unknown;
}

/** One event of a batch, encoded. */
export interface EncodedEvent {
  subject: string;
  payload: string;
  headers: MsgHeaders | undefined;
  js: NatsRecordJetStream | undefined;
}

const SCHEDULE_ID = /^[^.*>\s]+$/;

/** `<prefix>.<subject>.<id>`: captured by a stream that takes `<prefix>.<subject's filter>.>`. */
export function scheduleSubject(prefix: string, subject: string, id = nuid.next()): string {
  if (!SCHEDULE_ID.test(id))
    throw new InvalidOptionError(`schedule id ${JSON.stringify(id)} must be one subject token`);
  return `${prefix}.${subject}.${id}`;
}

/**
 * Publishes one JetStream record: through `js.schedule()` when it is delayed (resolving a
 * `ScheduledPubAck`), else `js.publish()`.
 */
export async function publishRecord(
  nc: NatsConnection,
  e: EncodedEvent & { js: NatsRecordJetStream },
  schedulePrefix = DEFAULT_SCHEDULE_PREFIX,
): Promise<PubAck | ScheduledPubAck> {
  const { subject, payload, headers, js } = e;
  const client = nc.jetstream();
  const when = js.schedule;
  if (when === undefined) {
    return client.publish(subject, payload, {
      ...(headers ? { headers } : {}),
      ...(js.msgId !== undefined ? { msgId: js.msgId } : {}),
      ...(js.expectStream !== undefined ? { expect: { stream: js.expectStream } } : {}),
      ...(js.ttl !== undefined ? { ttl: js.ttl } : {}),
    });
  }
  if (js.ttl === 'never')
    throw new InvalidOptionError("a delayed event's TTL must be whole seconds, not 'never'");
  const at = when.at ?? new Date(Date.now() + (when.delay ?? 0));
  const schedule = scheduleSubject(schedulePrefix, subject, when.id);
  // The schedule message carries them; the server drops Nats-Msg-Id and Nats-Expected-* from
  // the message it publishes (checked on 2.12.15 and 2.14.10), so they guard the schedule only.
  const h = copyHeaders(headers);
  if (js.msgId !== undefined) h.set('Nats-Msg-Id', js.msgId);
  if (js.expectStream !== undefined) h.set('Nats-Expected-Stream', js.expectStream);
  const ack = await client.schedule(schedule, {
    at,
    target: subject,
    data: payload,
    headers: h,
    ...(js.ttl !== undefined ? { ttl: js.ttl } : {}),
  });
  return { ...ack, schedule };
}

/**
 * Publishes the events as one atomic batch (nats-server 2.12+, a stream with `allowAtomic`):
 * all are stored or none. Checks every event before the first is sent.
 */
export async function publishBatch(
  nc: NatsConnection,
  events: EncodedEvent[],
): Promise<BatchPubAck> {
  if (events.length === 0) throw new InvalidOptionError('emitBatch() needs at least one event');
  if (events.length > MAX_ATOMIC_BATCH_SIZE)
    throw new InvalidOptionError(
      `an atomic batch holds at most ${MAX_ATOMIC_BATCH_SIZE} events, got ${events.length}`,
    );
  // The version gate comes first: an older server gets FeatureNotSupportedError whatever the events.
  const batch = nc.jetstream().batch();
  const msgs = events.map((e): [string, string, BatchMsgOptions] => {
    if (e.js?.schedule !== undefined)
      throw new InvalidOptionError(`a delayed event (${e.subject}) cannot be part of a batch`);
    let headers = e.headers;
    if (e.js?.ttl !== undefined) {
      headers = copyHeaders(headers);
      headers.set(TTL_HEADER, ttlHeaderValue(nc, e.js.ttl));
    }
    const opts: BatchMsgOptions = {
      ...(headers ? { headers } : {}),
      ...(e.js?.msgId !== undefined ? { msgId: e.js.msgId } : {}),
      ...(e.js?.expectStream !== undefined ? { expect: { stream: e.js.expectStream } } : {}),
    };
    return [e.subject, e.payload, opts];
  });
  const span = traceBatch(nc, msgs);
  const last = msgs.pop() as [string, string, BatchMsgOptions];
  try {
    // Sent back to back; an event the batch refuses (a repeated msgId...) rejects here, and the
    // batch is then never committed: the server drops what it staged.
    await Promise.all(msgs.map(([subject, payload, opts]) => batch.add(subject, payload, opts)));
    const ack = await batch.commit(...last);
    span?.setAttributes({
      'messaging.nats.stream': ack.stream,
      'messaging.nats.stream.sequence': ack.seq,
    });
    span?.end();
    return ack;
  } catch (err) {
    span?.end(err);
    throw err;
  }
}

/**
 * While telemetry is on: one PRODUCER `publish {subject}` span for the whole batch, named after
 * the first event's subject, with `messaging.batch.message_count`; its context goes into every
 * event's headers (the user's own `traceparent` is kept), and no event gets a span of its own.
 */
function traceBatch(
  nc: NatsConnection,
  msgs: [string, string, BatchMsgOptions][],
): TelemetrySpan | undefined {
  const traced = telemetryOf(nc)?.begin('publish', msgs[0][0], undefined, undefined, {
    'messaging.batch.message_count': msgs.length,
    'messaging.message.body.size': undefined,
  });
  if (!traced) return undefined;
  for (const msg of msgs) {
    const headers = markSpanned(copyHeaders(msg[2].headers));
    for (const [name, values] of traced.headers ?? [])
      if (!headers.has(name)) headers.set(name, values);
    msg[2] = { ...msg[2], headers };
  }
  return traced.span;
}
