// OpenTelemetry for JetStream consumers: `receive` spans for pulls, `process` spans around
// consumer callbacks (linked to the publisher's span: a stored message is not a child of its
// publish), and the opt-in `settle` spans of acks. Every function here is called only while
// telemetry is on, or checks first; nothing is made while it is off.
import {
  carrierOf,
  settleHooks,
  type CallbackRunner,
  type ConnectionTelemetry,
  type MsgHeaders,
  type NatsConnection,
  type TelemetryAttributes,
  type TelemetrySpan,
} from '../core/internal.js';

/** What is traced of a JetStream message (a `JsMsg`; structural, as `JsMsg` settles through here). */
export interface TracedMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHeaders | undefined;
  readonly metadata: {
    stream: string;
    consumer: string;
    numDelivered: number;
    sequence: { stream: number; consumer: number };
  };
}

/** The stream and consumer a pull subject (`…CONSUMER.MSG.NEXT.<stream>.<consumer>`) names. */
export function pullTarget(subject: string): { stream: string; consumer: string } {
  const tokens = subject.split('.');
  return { stream: tokens[tokens.length - 2], consumer: tokens[tokens.length - 1] };
}

/**
 * Starts a CLIENT `receive {stream}` span for one pull request (at `startedAt`, a
 * `performance.now()` time, when it began earlier), or returns undefined while telemetry is off.
 * End it with `endReceive()`.
 */
export function receiveSpan(
  tel: ConnectionTelemetry | undefined,
  subject: string,
  batch: number,
  startedAt?: number,
): TelemetrySpan | undefined {
  const hooks = tel?.hooks;
  if (hooks === null || hooks === undefined) return undefined;
  const { stream, consumer } = pullTarget(subject);
  const attrs: TelemetryAttributes = {
    ...tel!.attributes(stream, 0),
    'messaging.message.body.size': undefined,
    'messaging.consumer.group.name': consumer,
    'messaging.nats.stream': stream,
    'messaging.nats.consumer': consumer,
    'messaging.nats.pull.batch': batch,
  };
  return hooks.client('receive', stream, attrs, startedAt);
}

/** Ends a `receive` span with the number of messages the pull brought. */
export function endReceive(span: TelemetrySpan, received: number, error?: unknown): void {
  span.setAttributes({ 'messaging.batch.message_count': received });
  span.end(error);
}

/** The attributes of a JetStream message's `process` span. */
export function processAttributes(
  tel: ConnectionTelemetry,
  msg: TracedMsg,
  pattern: string,
): TelemetryAttributes {
  const meta = msg.metadata;
  const attrs = tel.attributes(msg.subject, msg.data.length);
  attrs['messaging.destination.template'] = pattern === msg.subject ? undefined : pattern;
  attrs['messaging.consumer.group.name'] = meta.consumer;
  attrs['messaging.nats.stream'] = meta.stream;
  attrs['messaging.nats.consumer'] = meta.consumer;
  attrs['messaging.nats.stream.sequence'] = meta.sequence.stream;
  attrs['messaging.nats.consumer.sequence'] = meta.sequence.consumer;
  attrs['messaging.nats.delivery_count'] = meta.numDelivered;
  attrs['messaging.message.id'] = msg.headers?.get('Nats-Msg-Id');
  return attrs;
}

/**
 * Runs a JetStream consumer's callback: while telemetry is on, in a CONSUMER `process {pattern}`
 * span linked to the publisher's (`pulled`: a `receive` span counted the message already),
 * marked failed when the callback throws or rejects.
 */
export function runCallback<M extends TracedMsg>(
  tel: ConnectionTelemetry | undefined,
  runner: CallbackRunner<M>,
  msg: M,
  pattern: string,
  pulled: boolean,
): Promise<unknown> | undefined {
  const hooks = tel?.hooks;
  if (hooks === null || hooks === undefined) return runner.run(msg);
  const headers = msg.headers;
  return hooks.process(
    pattern,
    headers === undefined ? undefined : carrierOf(headers),
    pulled ? 'pulled' : 'link',
    processAttributes(tel!, msg, pattern),
    (span) => runner.run(msg, span),
  );
}

/** What a process span of a consumer is named after: its one filter subject, else the stream. */
export function consumerPattern(
  stream: string,
  config: { filterSubject?: string; filterSubjects?: string[] },
): string {
  const filters = config.filterSubjects;
  return config.filterSubject ?? (filters?.length === 1 ? filters[0] : stream);
}

/** How an ack settles a message, as `messaging.nats.ack` names it. */
export type SettleKind = 'ack' | 'nak' | 'term';

/**
 * Starts a CLIENT `settle {stream}` span for an ack of `msg` when its connection asked for them
 * (`telemetry: { settle: true }`) and telemetry is on; else undefined.
 */
export function settleSpan(
  nc: NatsConnection,
  msg: TracedMsg,
  kind: SettleKind,
): TelemetrySpan | undefined {
  const hooks = settleHooks(nc);
  if (hooks === null) return undefined;
  const meta = msg.metadata;
  return hooks.client('settle', meta.stream, {
    'messaging.consumer.group.name': meta.consumer,
    'messaging.nats.stream': meta.stream,
    'messaging.nats.consumer': meta.consumer,
    'messaging.nats.stream.sequence': meta.sequence.stream,
    'messaging.nats.consumer.sequence': meta.sequence.consumer,
    'messaging.nats.delivery_count': meta.numDelivered,
    'messaging.nats.ack': kind,
  });
}
