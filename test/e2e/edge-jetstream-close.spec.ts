// JetStream handlers still running when app.close() gives up waiting: no uncaught errors after the
// close.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import {
  JetStreamContext,
  JetStreamHandler,
  ServerNats,
  connect,
  type NatsConnection,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';

const started: Array<{ seq: number; delivered: number }> = [];

@Controller()
class SlowJsController {
  // ackWait 400 → the transport sends +WPI every 200 ms while the handler runs.
  @JetStreamHandler('ajc.>', { stream: 'AJC', durable: 'ajc-slow', ackWait: 400, maxDeliver: 5 })
  async slow(@Payload() _d: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    started.push({
      seq: ctx.getMetadata().sequence.stream,
      delivered: ctx.getMetadata().numDelivered,
    });
    await new Promise((r) => setTimeout(r, 1500));
  }
}

@Module({ controllers: [SlowJsController] })
class SlowJsModule {}

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startApp(gracefulShutdownTimeout: number) {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(SlowJsModule, {
    strategy: new ServerNats({
      servers: server.url,
      gracefulShutdownTimeout,
      streams: [{ name: 'AJC', subjects: ['ajc.>'], storage: 'memory' }],
    }),
    logger: false,
  });
  await app.listen();
  return app;
}

it('app.close() past gracefulShutdownTimeout with a handler still running: no uncaught error, message redelivered later', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const app = await startApp(200);
    const { seq } = await nc.jetstream().publish('ajc.1', '{}');
    const end = Date.now() + 3000;
    while (!started.some((s) => s.seq === seq) && Date.now() < end) await sleep(10);
    const t0 = Date.now();
    await app.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    // The handler keeps running ~1.5 s; its keep-alive timer fires every 200 ms meanwhile.
    await sleep(1800);
    expect(uncaught).toEqual([]);

    const again = await startApp(5000);
    try {
      const end2 = Date.now() + 4000;
      while (started.filter((s) => s.seq === seq).length < 2 && Date.now() < end2) await sleep(20);
      const deliveries = started.filter((s) => s.seq === seq).map((s) => s.delivered);
      expect(deliveries.length).toBe(2);
      expect(deliveries[1]).toBeGreaterThan(1);
    } finally {
      await again.close();
    }
  } finally {
    process.off('uncaughtException', onUncaught);
  }
}, 15_000);
