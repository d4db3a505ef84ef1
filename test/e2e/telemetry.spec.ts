// One trace across two Nest apps: ClientNats.send() -> a @MessagePattern handler that publishes
// a JetStream event -> a second app's @JetStreamHandler, linked to that publish.
import 'reflect-metadata';
import { Controller, Module, UseFilters, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  ClientNats,
  connect,
  FeatureNotSupportedError,
  JetStreamApiError,
  JetStreamHandler,
  NatsExceptionFilter,
  NatsRecordBuilder,
  ServerNats,
  type NatsConnection,
  type ServerNatsOptions,
} from '../../lib/index.js';
import { describeSince, itBefore, startServer, type NatsServerHandle } from '../support/index.js';
import {
  metricTotal,
  parentOf,
  registerTestTelemetry,
  spanNamed,
  SpanKind,
  SpanStatusCode,
  type TestTelemetry,
} from '../support/telemetry.js';

let server: NatsServerHandle;
let publisher: NatsConnection;
let otel: TestTelemetry;
const handled: string[] = [];

@Controller()
class OrdersController {
  @MessagePattern('orders.create')
  async create(@Payload() order: { id: string }): Promise<{ ok: string }> {
    await publisher.jetstream().publish('ev.created', JSON.stringify(order), {
      msgId: `order-${order.id}`,
    });
    return { ok: order.id };
  }
}

@Controller()
class EventsController {
  @JetStreamHandler('ev.>', { stream: 'EV', durable: 'ev-worker' })
  created(@Payload() order: { id: string }): void {
    handled.push(order.id);
  }
}

class OrderNotFound extends Error {}

@Controller()
class FailingController {
  @MessagePattern('fail.plain')
  plain(): never {
    throw new OrderNotFound('no order 9');
  }

  @UseFilters(new NatsExceptionFilter())
  @MessagePattern('fail.filtered')
  filtered(): never {
    throw new OrderNotFound('no order 10');
  }

  @MessagePattern('fail.rpc')
  rpc(): never {
    throw new RpcException({ status: 'error', message: 'refused' });
  }

  @EventPattern('fail.event')
  event(@Payload() _data: unknown): Promise<void> {
    return Promise.reject(new OrderNotFound('no order 11'));
  }

  @JetStreamHandler('fev.>', { stream: 'FEV', durable: 'fev-worker', maxDeliver: 1 })
  jetstream(@Payload() _data: unknown): never {
    throw new OrderNotFound('no order 12');
  }
}

async function startApp(
  controller: new () => unknown,
  options: ServerNatsOptions,
): Promise<INestMicroservice> {
  @Module({ controllers: [controller] })
  class M {}
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy: new ServerNats(options),
    logger: false,
  });
  await app.listen();
  return app;
}

async function waitFor(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  otel = registerTestTelemetry();
});
afterAll(async () => {
  await otel.disable();
  await server?.stop();
});

describe('OpenTelemetry across Nest apps', () => {
  it('follows one trace from ClientNats.send() to a second app’s @JetStreamHandler', async () => {
    publisher = await connect({ servers: server.url });
    const events = await startApp(EventsController, {
      servers: server.url,
      streams: [{ name: 'EV', subjects: ['ev.>'] }],
    });
    const orders = await startApp(OrdersController, { servers: server.url });
    const client = new ClientNats({ servers: server.url });
    try {
      otel.exporter.reset();
      const reply = await firstValueFrom(client.send('orders.create', { id: '42' }));
      expect(reply).toEqual({ ok: '42' });
      await waitFor(() => otel.spans().some((s) => s.name === 'process ev.>'));

      const spans = otel.spans();
      for (const s of spans) expect(s.name).not.toContain('_INBOX');
      const send = spanNamed(spans, 'send orders.create');
      const handler = spanNamed(spans, 'process orders.create');
      const publish = spanNamed(spans, 'publish ev.created');
      const worker = spanNamed(spans, 'process ev.>');

      expect(send.kind).toBe(SpanKind.CLIENT);
      expect(handler.kind).toBe(SpanKind.CONSUMER);
      expect(publish.kind).toBe(SpanKind.PRODUCER);
      expect(worker.kind).toBe(SpanKind.CONSUMER);

      // Request/reply: the handler is a child of the send() in the other process.
      const trace = send.spanContext().traceId;
      expect(handler.spanContext().traceId).toBe(trace);
      expect(parentOf(handler)).toBe(send.spanContext().spanId);
      // The JetStream publish runs inside the handler's span.
      expect(publish.spanContext().traceId).toBe(trace);
      expect(parentOf(publish)).toBe(handler.spanContext().spanId);
      expect(publish.attributes).toMatchObject({
        'messaging.nats.stream': 'EV',
        'messaging.nats.stream.sequence': 1,
        'messaging.message.id': 'order-42',
      });
      // A stored message is linked to its publish, not its child.
      expect(parentOf(worker)).toBeUndefined();
      expect(worker.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
      expect(worker.links[0].context.traceId).toBe(trace);
      expect(worker.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.destination.name': 'ev.created',
        'messaging.destination.template': 'ev.>',
        'messaging.nats.stream': 'EV',
        'messaging.nats.consumer': 'ev-worker',
        'messaging.nats.stream.sequence': 1,
        'messaging.nats.consumer.sequence': 1,
        'messaging.nats.delivery_count': 1,
        'messaging.message.id': 'order-42',
        'messaging.nats.ack': 'ack',
      });
      // No span for the JetStream API, the PubAck or the pull requests.
      expect(spans.filter((s) => s.name.includes('$JS'))).toHaveLength(0);

      const metrics = await otel.metrics();
      expect(
        metricTotal(metrics.get('messaging.process.duration'), {
          'messaging.nats.ack': 'ack',
          'messaging.nats.stream': 'EV',
        }),
      ).toBe(1);
      expect(
        metricTotal(metrics.get('messaging.client.operation.duration'), {
          'messaging.destination.name': 'orders.create',
        }),
      ).toBe(1);
    } finally {
      await client.close();
      await orders.close();
      await events.close();
      await publisher.close();
    }
  });

  it('marks failed handlers’ process spans ERROR, with the error as thrown where recorded', async () => {
    const app = await startApp(FailingController, {
      servers: server.url,
      streams: [{ name: 'FEV', subjects: ['fev.>'] }],
    });
    const client = new ClientNats({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      otel.exporter.reset();
      for (const pattern of ['fail.plain', 'fail.filtered', 'fail.rpc'])
        await expect(firstValueFrom(client.send(pattern, {}))).rejects.toBeDefined();
      nc.publish('fail.event', '{}');
      await nc.jetstream().publish('fev.1', '{}');
      await waitFor(() =>
        ['process fail.event', 'process fev.>'].every((n) =>
          otel.spans().some((s) => s.name === n),
        ),
      );
      const spans = otel.spans();
      const check = (name: string, type: string, message: string): void => {
        const span = spanNamed(spans, name);
        expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
        expect(span.attributes['error.type']).toBe(type);
        expect(span.events.filter((e) => e.name === 'exception')).toHaveLength(1);
      };
      // Without a filter that records it, the span has the error as Nest's filters made it.
      check('process fail.plain', 'object', 'Internal server error');
      // NatsExceptionFilter records the error as thrown.
      check('process fail.filtered', 'OrderNotFound', 'no order 10');
      check('process fail.rpc', 'object', 'refused');
      check('process fail.event', 'object', 'Internal server error');
      // @JetStreamHandler records what the handler threw; the outcome is on the span.
      check('process fev.>', 'OrderNotFound', 'no order 12');
      expect(spanNamed(spans, 'process fev.>').attributes['messaging.nats.ack']).toBe('nak');
    } finally {
      await client.close();
      await nc.close();
      await app.close();
    }
  });

  it('makes no spans and adds no headers with telemetry: false', async () => {
    publisher = await connect({ servers: server.url, telemetry: false });
    const orders = await startApp(OrdersController, { servers: server.url, telemetry: false });
    const client = new ClientNats({ servers: server.url, telemetry: false });
    const spy = await connect({ servers: server.url, telemetry: false });
    const seen = spy.subscribe('orders.create', { max: 1 });
    try {
      await spy.flush();
      otel.exporter.reset();
      expect(await firstValueFrom(client.send('orders.create', { id: '7' }))).toEqual({ ok: '7' });
      const msg = await seen.nextMsg(2000);
      expect(msg.headers?.get('traceparent')).toBeUndefined();
      expect(otel.spans()).toHaveLength(0);
    } finally {
      await client.close();
      await orders.close();
      await spy.close();
      await publisher.close();
    }
  });
});

describeSince('2.12.0', 'OpenTelemetry of ClientNats.emitBatch()', () => {
  let client: ClientNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: server.url, telemetry: false });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'TB', subjects: ['tb.>'], allowAtomic: true });
    client = new ClientNats({ servers: server.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await nc?.close();
  });

  it('makes one PRODUCER span for the batch, whose context every stored message carries', async () => {
    otel.exporter.reset();
    const ack = await client.emitBatch([
      { pattern: 'tb.a', data: { n: 1 } },
      { pattern: 'tb.b', data: new NatsRecordBuilder({ n: 2 }).setHeaders({ x: '2' }).build() },
      { pattern: 'tb.a', data: { n: 3 } },
    ]);
    const spans = otel.spans();
    // No span per message under the batch's.
    expect(spans.map((s) => s.name)).toEqual(['publish tb.a']);
    const span = spans[0];
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'tb.a',
      'messaging.batch.message_count': 3,
      'messaging.nats.stream': 'TB',
      'messaging.nats.stream.sequence': ack.seq,
    });
    const jsm = await nc.jetstreamManager();
    const { traceId, spanId } = span.spanContext();
    for (let seq = ack.seq - 2; seq <= ack.seq; seq++) {
      const stored = await jsm.streams.getMessage('TB', { seq });
      expect(stored.headers?.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);
    }
    const second = await jsm.streams.getMessage('TB', { seq: ack.seq - 1 });
    expect(second.headers?.get('x')).toBe('2');
  });

  it('marks the span ERROR when the commit fails', async () => {
    otel.exporter.reset();
    const failing = new NatsRecordBuilder({ n: 2 }).setJetStream({ expectStream: 'WRONG' });
    const err: unknown = await client
      .emitBatch([
        { pattern: 'tb.a', data: { n: 1 } },
        { pattern: 'tb.c', data: failing.build() },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    const span = spanNamed(otel.spans(), 'publish tb.a');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('JetStreamApiError');
    expect(otel.spans()).toHaveLength(1);
  });
});

itBefore(
  '2.12.0',
  'emitBatch() on an older server: FeatureNotSupportedError and no span',
  async () => {
    const client = new ClientNats({ servers: server.url });
    try {
      await client.connect();
      otel.exporter.reset();
      const err: unknown = await client
        .emitBatch([{ pattern: 'tb.a', data: 1 }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FeatureNotSupportedError);
      expect(otel.spans()).toHaveLength(0);
    } finally {
      await client.close();
    }
  },
);
