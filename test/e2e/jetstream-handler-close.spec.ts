// JetStream handlers and app.close(): unstarted messages handed back, prompt close during pulls or
// outages.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { Ctx, MessagePattern, type MicroserviceOptions, Payload } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  type NatsConnection,
  ServerNats,
  type SettledEvent,
} from '../../lib/index.js';
import { type NatsServerHandle, startServer } from '../support/index.js';
import { outcomesOf, sleep, startApp, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'CR', subjects: ['cr.>'], storage: 'file' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const handled: Array<{ seq: number; n: number; at: number }> = [];

@Controller()
class CrController {
  @JetStreamHandler('cr.work.>', {
    stream: 'CR',
    durable: 'cr-work',
    ackWait: 10_000,
    concurrency: 1,
  })
  async work(@Payload() p: { sleep?: number }, @Ctx() ctx: JetStreamContext) {
    handled.push({
      seq: ctx.getMetadata().sequence.stream,
      n: ctx.getMetadata().numDelivered,
      at: Date.now(),
    });
    if (p?.sleep) await sleep(p.sleep);
  }

  @MessagePattern('cr.core.ping')
  ping() {
    return 'pong';
  }
}

const base = () => ({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });

it('app.close() while the worker waits in an idle long pull is prompt', async () => {
  const { app } = await startApp(CrController, { ...base() });
  await sleep(300);
  const t0 = Date.now();
  await app.close();
  expect(Date.now() - t0).toBeLessThan(1000);
});

it('close() twice (concurrently, then again) resolves both times without errors', async () => {
  const { app } = await startApp(CrController, { ...base(), gracefulShutdownTimeout: 2000 });
  await nc.jetstream().publish('cr.work.twice', JSON.stringify({ sleep: 300 }));
  await waitFor(() => handled.length > 0);
  const t0 = Date.now();
  const r = await Promise.allSettled([app.close(), app.close()]);
  await expect(app.close()).resolves.toBeUndefined();
  expect(r.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled']);
  expect(Date.now() - t0).toBeLessThan(2000);
});

it('messages pulled but not started are handed back at once on close (not after the 10 s ack wait)', async () => {
  const settled: SettledEvent[] = [];
  const first = await startApp(CrController, { ...base(), gracefulShutdownTimeout: 3000 }, settled);
  handled.length = 0;
  const seqs: number[] = [];
  for (let i = 0; i < 4; i++)
    seqs.push(
      (await nc.jetstream().publish(`cr.work.nak${i}`, JSON.stringify({ sleep: 400 }))).seq,
    );
  await waitFor(() => handled.length > 0);
  await first.app.close();
  const startedBefore = handled.map((h) => h.seq);
  const t0 = Date.now();
  const second = await startApp(CrController, { ...base() }, settled);
  try {
    await waitFor(
      () => seqs.every((q) => outcomesOf(settled, q).includes('ack')),
      6000,
      'all acked',
    );
    expect(Date.now() - t0).toBeLessThan(4000);
  } catch (err) {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.consumers.info('CR', 'cr-work');
    throw new Error(
      `${(err as Error).message}; started before close: ${startedBefore.join(',')}; acked: ${settled
        .filter((e) => e.outcome === 'ack')
        .map((e) => e.streamSeq)
        .join(',')}; consumer ackPending=${info.numAckPending} pending=${info.numPending}`,
    );
  } finally {
    await second.app.close();
  }
}, 14_000);

it('close() while the server is down finishes within gracefulShutdownTimeout plus a margin', async () => {
  const { app, strategy } = await startApp(CrController, {
    ...base(),
    gracefulShutdownTimeout: 1000,
  });
  let down = false;
  strategy.on('disconnected', () => (down = true));
  await nc.jetstream().publish('cr.work.down', JSON.stringify({ sleep: 3000 }));
  await waitFor(() => handled.some((h) => h.at > Date.now() - 2000));
  await server.kill('SIGKILL');
  try {
    await waitFor(() => down, 3000, 'disconnected');
    const t0 = Date.now();
    await app.close();
    expect(Date.now() - t0).toBeLessThan(1500);
  } finally {
    await server.restart();
  }
}, 14_000);

it('the stream deleted under a running app: an error is logged, core handlers keep working, consumption resumes when the stream is back', async () => {
  const { app, logger, settled } = await startApp(CrController, { ...base() });
  const client = await connect({ servers: server.url });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete('CR');
    const reply = await client.request('cr.core.ping', '');
    expect(reply.string()).toBe('"pong"');
    // Noticed at once when a pull is outstanding (409), else within a few 5 s pulls.
    const logged = () =>
      logger.lines.some((l) => /cr-work/.test(l) && /^(error|warn)/.test(l) && /CR/.test(l));
    await waitFor(logged, 15_000, 'an error about the deleted stream');
    await jsm.streams.add({ name: 'CR', subjects: ['cr.>'], storage: 'file' });
    const { seq } = await nc.jetstream().publish('cr.work.back', '{}');
    await waitFor(() => outcomesOf(settled, seq).includes('ack'), 30_000, 'consumed again');
  } finally {
    await client.close();
    await app.close();
  }
}, 60_000);

// JetStream handlers still running when app.close() gives up waiting: no uncaught errors after the
// close.
describe('handlers still running when app.close() gives up', () => {
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
        while (started.filter((s) => s.seq === seq).length < 2 && Date.now() < end2)
          await sleep(20);
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
});
