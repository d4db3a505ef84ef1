// OpenTelemetry spans, propagation and metrics of the core client against a real nats-server.
import {
  InvalidOptionError,
  MsgHeaders,
  connect,
  type Msg,
  type NatsConnection,
} from '../../lib/core/index.js';
import { telemetryOf } from '../../lib/core/internal.js';
import '../../lib/services/index.js';
import { TELEMETRY_RECHECK_MS } from '../../lib/core/telemetry/slot.js';
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
let otel: TestTelemetry | undefined;

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => conns.closeAll());
afterAll(async () => {
  await otel?.disable();
  await stopAllServers();
});

/** Publishes one message to `subject` and resolves it as the subscriber got it. */
async function roundTrip(
  nc: NatsConnection,
  pattern: string,
  subject: string,
  headers?: MsgHeaders,
): Promise<Msg> {
  const got = new Promise<Msg>((resolve) => nc.subscribe(pattern, { callback: resolve, max: 1 }));
  await nc.flush();
  nc.publish(subject, 'hi', headers ? { headers } : undefined);
  return got;
}

describe('OpenTelemetry (core)', () => {
  it('is off, without spans or headers, while no SDK is registered', async () => {
    const nc = await conns.connect({ servers: server.url });
    expect(telemetryOf(nc)?.hooks).toBeNull();
    const msg = await roundTrip(nc, 'plain.*', 'plain.a');
    expect(msg.hasHeaders).toBe(false);
  });

  it.each(['on', { settle: 'yes' }, { enabled: 1 }, { tracing: true }])(
    'refuses the telemetry option %j',
    async (telemetry) => {
      await expect(
        connect({ servers: server.url, telemetry: telemetry as unknown as boolean }),
      ).rejects.toBeInstanceOf(InvalidOptionError);
    },
  );

  it('picks up an SDK registered after connect', async () => {
    const nc = await conns.connect({ servers: server.url });
    expect(telemetryOf(nc)?.hooks).toBeNull();
    otel = registerTestTelemetry();
    await waitUntil(() => telemetryOf(nc)?.hooks !== null, TELEMETRY_RECHECK_MS * 3);
    const msg = await roundTrip(nc, 'late.*', 'late.a');
    expect(msg.headers?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await waitUntil(() => otel!.spans().some((s) => s.name === 'process late.*'));
  });

  describe('with an SDK registered', () => {
    beforeEach(() => {
      otel ??= registerTestTelemetry();
      otel.exporter.reset();
    });

    it('makes a publish a PRODUCER span and the callback a CONSUMER child of it', async () => {
      const nc = await conns.connect({ servers: server.url });
      const msg = await roundTrip(nc, 'orders.*', 'orders.new');
      await waitUntil(() => otel!.spans().length >= 2);
      const spans = otel!.spans();
      const pub = spanNamed(spans, 'publish orders.new');
      const proc = spanNamed(spans, 'process orders.*');
      expect(pub.kind).toBe(SpanKind.PRODUCER);
      expect(proc.kind).toBe(SpanKind.CONSUMER);
      expect(proc.spanContext().traceId).toBe(pub.spanContext().traceId);
      expect(parentOf(proc)).toBe(pub.spanContext().spanId);
      expect(pub.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.operation.name': 'publish',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'orders.new',
        'messaging.message.body.size': 2,
        'server.address': '127.0.0.1',
        'server.port': server.port,
      });
      expect(proc.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'orders.new',
        'messaging.destination.template': 'orders.*',
      });
      expect(msg.headers?.get('traceparent')).toContain(pub.spanContext().spanId);
    });

    it('makes a request a CLIENT span that the responder continues; no span names an inbox', async () => {
      const nc = await conns.connect({ servers: server.url });
      const svc = await conns.connect({ servers: server.url, inboxPrefix: 'app.replies' });
      svc.subscribe('svc.>', {
        callback: (m) => {
          // A reply published by hand to the reply subject (an inbox) is a temporary destination.
          svc.publish(m.reply, 'pong');
        },
      });
      await svc.flush();
      const reply = await nc.request('svc.echo', 'ping');
      expect(reply.string()).toBe('pong');
      const client = await conns.connect({ servers: server.url, inboxPrefix: 'app.replies' });
      await client.request('svc.echo', 'ping');
      await waitUntil(() => otel!.spans().length >= 6);
      const spans = otel!.spans();
      for (const s of spans) {
        expect(s.name).not.toMatch(/_INBOX|app\.replies/);
      }
      const send = spans.filter((s) => s.name === 'send svc.echo');
      expect(send).toHaveLength(2);
      expect(send[0].kind).toBe(SpanKind.CLIENT);
      const processes = spans.filter((s) => s.name === 'process svc.>');
      expect(processes.map(parentOf).sort()).toEqual(
        send.map((s) => s.spanContext().spanId).sort(),
      );
      const temporary = spans.filter((s) => s.name === 'publish (temporary)');
      expect(temporary).toHaveLength(2);
      expect(temporary[0].attributes['messaging.destination.temporary']).toBe(true);
      expect(temporary[0].attributes['messaging.destination.name']).toBeUndefined();
    });

    it('keeps a traceparent the user set, and leaves the user headers object untouched', async () => {
      const nc = await conns.connect({ servers: server.url });
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const headers = new MsgHeaders().set('traceparent', own).set('x-app', '1');
      const msg = await roundTrip(nc, 'keep.*', 'keep.a', headers);
      expect(msg.headers?.get('traceparent')).toBe(own);
      expect(msg.headers?.get('x-app')).toBe('1');
      expect(headers.keys().sort()).toEqual(['traceparent', 'x-app']);
      await waitUntil(() => otel!.spans().some((s) => s.name === 'process keep.*'));
      const proc = spanNamed(otel!.spans(), 'process keep.*');
      expect(proc.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(parentOf(proc)).toBe('b7ad6b7169203331');
    });

    it('ends a process span when an async callback settles', async () => {
      const nc = await conns.connect({ servers: server.url });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      nc.subscribe('slow.a', { callback: () => held });
      await nc.flush();
      nc.publish('slow.a');
      await nc.flush();
      await new Promise((r) => setTimeout(r, 50));
      expect(otel!.spans().some((s) => s.name === 'process slow.a')).toBe(false);
      release();
      await waitUntil(() => otel!.spans().some((s) => s.name === 'process slow.a'));
    });

    it('makes no spans and adds no headers with telemetry: false', async () => {
      const nc = await conns.connect({ servers: server.url, telemetry: false });
      expect(telemetryOf(nc)?.hooks).toBeNull();
      const msg = await roundTrip(nc, 'off.*', 'off.a');
      expect(msg.hasHeaders).toBe(false);
      await nc.flush();
      expect(otel!.spans()).toHaveLength(0);
    });

    it('marks the process span of a callback that throws, or rejects, ERROR', async () => {
      const errors: unknown[] = [];
      const nc = await conns.connect({ servers: server.url, onError: (e) => errors.push(e) });
      nc.subscribe('fail.sync', {
        callback: () => {
          throw new TypeError('boom');
        },
      });
      nc.subscribe('fail.async', { callback: () => Promise.reject(new RangeError('later')) });
      await nc.flush();
      nc.publish('fail.sync');
      nc.publish('fail.async');
      await waitUntil(() => otel!.spans().filter((s) => s.name.startsWith('process')).length >= 2);
      for (const [name, type, message] of [
        ['process fail.sync', 'TypeError', 'boom'],
        ['process fail.async', 'RangeError', 'later'],
      ]) {
        const span = spanNamed(otel!.spans(), name);
        expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
        expect(span.attributes['error.type']).toBe(type);
        expect(span.events.map((e) => e.name)).toEqual(['exception']);
        expect(span.events[0].attributes?.['exception.message']).toBe(message);
      }
      // Still reported as before.
      expect(errors).toHaveLength(2);
    });

    it('makes no spans with telemetry: { enabled: false }', async () => {
      const nc = await conns.connect({ servers: server.url, telemetry: { enabled: false } });
      const msg = await roundTrip(nc, 'off2.*', 'off2.a');
      expect(msg.hasHeaders).toBe(false);
      expect(otel!.spans()).toHaveLength(0);
    });

    it('gives a Service API endpoint handler its process span, child of the request', async () => {
      const nc = await conns.connect({ servers: server.url });
      const svc = await nc.addService({ name: 'calc', version: '1.0.0' });
      svc.addEndpoint('add', { subject: 'calc.add', handler: (req) => req.respond('3') });
      const client = await conns.connect({ servers: server.url });
      expect((await client.request('calc.add', '1+2')).string()).toBe('3');
      await waitUntil(() => otel!.spans().some((s) => s.name === 'process calc.add'));
      const spans = otel!.spans();
      const send = spanNamed(spans, 'send calc.add');
      const proc = spanNamed(spans, 'process calc.add');
      expect(proc.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(proc)).toBe(send.spanContext().spanId);
      expect(proc.spanContext().traceId).toBe(send.spanContext().traceId);
      // Discovery ($SRV) is not traced.
      await client.request('$SRV.PING.calc', '').catch(() => undefined);
      expect(otel!.spans().filter((s) => s.name.includes('$SRV'))).toHaveLength(0);
      await svc.stop();
    });

    it('records the messaging metrics', async () => {
      const nc = await conns.connect({ servers: server.url });
      nc.subscribe('m.req', { callback: (m) => m.respond('ok') });
      await roundTrip(nc, 'm.*', 'm.x');
      await nc.request('m.req', 'q');
      const all = await otel!.metrics();
      const sent = all.get('messaging.client.sent.messages');
      expect(metricTotal(sent, { 'messaging.destination.name': 'm.x' })).toBe(1);
      expect(metricTotal(sent, { 'messaging.operation.name': 'send' })).toBeGreaterThanOrEqual(1);
      const consumed = all.get('messaging.client.consumed.messages');
      expect(metricTotal(consumed, { 'messaging.destination.template': 'm.*' })).toBe(1);
      const op = all.get('messaging.client.operation.duration');
      expect(op?.descriptor.unit).toBe('s');
      expect(metricTotal(op, { 'messaging.operation.name': 'send' })).toBeGreaterThanOrEqual(1);
      expect(metricTotal(all.get('messaging.process.duration'))).toBeGreaterThanOrEqual(2);
    });

    it('traces no JetStream API request', async () => {
      const nc = await conns.connect({ servers: server.url });
      await nc.request('$JS.API.INFO', '').catch(() => undefined);
      await nc.flush();
      expect(otel!.spans().filter((s) => s.name.includes('$JS'))).toHaveLength(0);
    });
  });
});
