// OpenTelemetry of JetStream consumers against a real nats-server: receive spans for pulls,
// process spans around consumer callbacks (linked to the publish), opt-in settle spans.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { JsMsg } from '../../lib/jetstream/index.js';
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import {
  metricTotal,
  parentOf,
  registerTestTelemetry,
  spanNamed,
  SpanKind,
  SpanStatusCode,
  type TestTelemetry,
} from '../support/telemetry.js';
import { Connections, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let otel: TestTelemetry;
let n = 0;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  otel = registerTestTelemetry();
});
afterEach(() => conns.closeAll());
afterAll(async () => {
  await otel.disable();
  await stopAllServers();
});
beforeEach(() => otel.exporter.reset());

/** A stream `S<n>` on `s<n>.>` with a durable pull consumer `c`, and `count` messages in it. */
async function setup(count: number, telemetry?: { settle: boolean }) {
  const nc = await conns.connect({ servers: server.url, ...(telemetry ? { telemetry } : {}) });
  const stream = `S${++n}`;
  const subj = `s${n}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${subj}.>`], storage: 'memory' });
  await jsm.consumers.add(stream, {
    durableName: 'c',
    filterSubject: `${subj}.>`,
    ackWait: 30_000,
  });
  const js = jetstream(nc);
  for (let i = 1; i <= count; i++) await js.publish(`${subj}.${i}`, `m${i}`, { msgId: `id-${i}` });
  const consumer = await js.consumers.get(stream, 'c');
  return { nc, js, stream, subj, consumer };
}

const named = (prefix: string): ReadableSpan[] =>
  otel.spans().filter((s) => s.name.startsWith(prefix));

describe('OpenTelemetry (JetStream consumers)', () => {
  it('makes fetch() and next() CLIENT receive spans with the messages received', async () => {
    const { stream, consumer } = await setup(3);
    const msgs = await consumer.fetch(5, { timeout: 500 });
    expect(msgs).toHaveLength(3);
    for (const m of msgs) m.ack();
    expect(await consumer.next({ timeout: 300 })).toBeNull();
    const receives = named(`receive ${stream}`);
    expect(receives).toHaveLength(2);
    expect(receives[0].kind).toBe(SpanKind.CLIENT);
    expect(receives[0].attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.name': 'receive',
      'messaging.operation.type': 'receive',
      'messaging.destination.name': stream,
      'messaging.nats.stream': stream,
      'messaging.nats.consumer': 'c',
      'messaging.consumer.group.name': 'c',
      'messaging.nats.pull.batch': 5,
      'messaging.batch.message_count': 3,
    });
    expect(receives[1].attributes['messaging.batch.message_count']).toBe(0);
    expect(receives[1].attributes['messaging.nats.pull.batch']).toBe(1);
    // No settle spans unless asked for.
    expect(named('settle')).toHaveLength(0);
    const consumed = (await otel.metrics()).get('messaging.client.consumed.messages');
    expect(metricTotal(consumed, { 'messaging.nats.stream': stream })).toBe(3);
  });

  it('marks a fetch that fails ERROR', async () => {
    const { nc, stream, consumer } = await setup(0);
    await (await jetstreamManager(nc)).consumers.delete(stream, 'c');
    await expect(consumer.fetch(1, { timeout: 500 })).rejects.toThrow();
    const span = spanNamed(otel.spans(), `receive ${stream}`);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('runs consume() callbacks in CONSUMER process spans linked to the publish', async () => {
    const { stream, subj, consumer } = await setup(0);
    const seen: JsMsg[] = [];
    const messages = consumer.consume({
      maxMessages: 10,
      callback: (m) => {
        seen.push(m);
        m.ack();
        if (m.subject.endsWith('.2')) throw new Error('handler failed');
      },
    });
    const js = jetstream(await conns.connect({ servers: server.url }));
    await js.publish(`${subj}.1`, 'a', { msgId: 'x-1' });
    await js.publish(`${subj}.2`, 'b');
    await waitUntil(() => named('process').length >= 2);
    messages.stop();
    await waitUntil(() => named('receive').length >= 1);
    const spans = otel.spans();
    const publishes = spans.filter((s) => s.name.startsWith('publish'));
    const processes = named(`process ${subj}.>`);
    expect(processes).toHaveLength(2);
    for (const [i, p] of processes.entries()) {
      expect(p.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(p)).toBeUndefined();
      expect(p.links.map((l) => l.context.spanId)).toEqual([publishes[i].spanContext().spanId]);
    }
    expect(processes[0].attributes).toMatchObject({
      'messaging.destination.name': `${subj}.1`,
      'messaging.destination.template': `${subj}.>`,
      'messaging.nats.stream': stream,
      'messaging.nats.consumer': 'c',
      'messaging.nats.stream.sequence': 1,
      'messaging.nats.delivery_count': 1,
      'messaging.message.id': 'x-1',
    });
    expect(processes[0].status.code).toBe(SpanStatusCode.UNSET);
    expect(processes[1].status).toEqual({ code: SpanStatusCode.ERROR, message: 'handler failed' });
    // The pulls that brought messages have receive spans (empty ones none); each message is
    // counted once as consumed, by its receive span, not again by its process span.
    const received = named(`receive ${stream}`);
    const total = received.reduce(
      (sum, s) => sum + Number(s.attributes['messaging.batch.message_count']),
      0,
    );
    expect(total).toBe(2);
    for (const r of received)
      expect(r.attributes['messaging.batch.message_count']).toBeGreaterThan(0);
    const consumed = (await otel.metrics()).get('messaging.client.consumed.messages');
    expect(metricTotal(consumed, { 'messaging.nats.stream': stream })).toBe(2);
    expect(seen).toHaveLength(2);
  });

  it('makes settle spans for ack, nak, term and ackSync only with telemetry: { settle: true }', async () => {
    const { stream, consumer } = await setup(4, { settle: true });
    const [a, b, c, d] = await consumer.fetch(4, { timeout: 500 });
    a.ack();
    b.nak(60_000);
    c.term();
    await d.ackSync();
    d.ack(); // already settled: nothing sent, no span
    a.inProgress(); // not traced
    await waitUntil(() => named('settle').length >= 4);
    const settles = named(`settle ${stream}`);
    expect(settles.map((s) => s.attributes['messaging.nats.ack'])).toEqual([
      'ack',
      'nak',
      'term',
      'ack',
    ]);
    expect(settles[0].kind).toBe(SpanKind.CLIENT);
    expect(settles[1].attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.nats.stream': stream,
      'messaging.nats.consumer': 'c',
      'messaging.nats.stream.sequence': 2,
      'messaging.nats.delivery_count': 1,
    });
  });

  it('makes no JetStream spans with telemetry: false', async () => {
    const nc = await conns.connect({ servers: server.url, telemetry: false });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'OFF', subjects: ['off.>'], storage: 'memory' });
    await jsm.consumers.add('OFF', { durableName: 'c' });
    const js = jetstream(nc);
    await js.publish('off.1', 'x');
    const consumer = await js.consumers.get('OFF', 'c');
    const [m] = await consumer.fetch(1, { timeout: 500 });
    expect(m.headers?.get('traceparent')).toBeUndefined();
    m.ack();
    const got = new Promise<void>((resolve) => {
      const messages = consumer.consume({
        callback: () => {
          messages.stop();
          resolve();
        },
      });
    });
    await js.publish('off.2', 'y');
    await got;
    await nc.flush();
    expect(otel.spans()).toHaveLength(0);
  });
});
