// JetStream handler edge cases: manual acks then throws, Observables, concurrency, odd payloads.
import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, RpcException, type MicroserviceOptions } from '@nestjs/microservices';
import { concat, interval, map, of, take, throwError } from 'rxjs';
import {
  JetStreamContext,
  JetStreamHandler,
  ServerNats,
  connect,
  type NatsConnection,
  type SettledEvent,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';

const seen = {
  manual: [] as number[],
  obs: [] as Array<{ id: string; delivered: number }>,
  raw: [] as unknown[],
  concActive: 0,
  concMax: 0,
  concDone: 0,
};

@Controller()
class AuditJsController {
  @JetStreamHandler('aj.manual.>', {
    stream: 'AJ',
    durable: 'aj-manual',
    ackWait: 2000,
    maxDeliver: 3,
    retryDelay: 50,
  })
  manual(@Payload() _d: unknown, @Ctx() ctx: JetStreamContext): void {
    seen.manual.push(ctx.getMetadata().numDelivered);
    ctx.ack();
    throw new Error('after manual ack');
  }

  @JetStreamHandler('aj.obs.>', {
    stream: 'AJ',
    durable: 'aj-obs',
    ackWait: 2000,
    maxDeliver: 3,
    retryDelay: 50,
  })
  obs(@Payload() d: { id: string }, @Ctx() ctx: JetStreamContext) {
    seen.obs.push({ id: d.id, delivered: ctx.getMetadata().numDelivered });
    if (d.id === 'fail' && ctx.getMetadata().numDelivered === 1)
      return concat(
        of(1),
        throwError(() => new RpcException({ message: 'obs failed' })),
      );
    if (d.id === 'empty') return of();
    return interval(5).pipe(take(3));
  }

  @JetStreamHandler('aj.conc.>', {
    stream: 'AJ',
    durable: 'aj-conc',
    ackWait: 5000,
    concurrency: 3,
  })
  async conc(): Promise<void> {
    seen.concActive++;
    seen.concMax = Math.max(seen.concMax, seen.concActive);
    await new Promise((r) => setTimeout(r, 100));
    seen.concActive--;
    seen.concDone++;
  }

  @JetStreamHandler('aj.raw.>', { stream: 'AJ', durable: 'aj-raw', ackWait: 2000 })
  raw(@Payload() d: unknown): unknown {
    seen.raw.push(d);
    return of(d).pipe(map(() => undefined));
  }
}

@Module({ controllers: [AuditJsController] })
class AuditJsModule {}

let server: NatsServerHandle;
let app: INestMicroservice;
let nc: NatsConnection;
const settled: SettledEvent[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startServer({ jetstream: true });
  const strategy = new ServerNats({
    servers: server.url,
    streams: [{ name: 'AJ', subjects: ['aj.>'], storage: 'memory' }],
  });
  strategy.on('settled', (e) => settled.push(e));
  app = await NestFactory.createMicroservice<MicroserviceOptions>(AuditJsModule, {
    strategy,
    logger: false,
  });
  await app.listen();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await app?.close();
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
const bySeq = (seq: number) => settled.filter((e) => e.streamSeq === seq).map((e) => e.outcome);

it('a handler that acks by hand and then throws is settled as manual and never redelivered', async () => {
  const { seq } = await nc.jetstream().publish('aj.manual.1', '{}');
  await waitFor(() => bySeq(seq).length > 0);
  await sleep(400);
  expect(bySeq(seq)).toEqual(['manual']);
  expect(seen.manual).toEqual([1]);
  const info = await (await nc.jetstreamManager()).consumers.info('AJ', 'aj-manual');
  expect(info.numAckPending).toBe(0);
  expect(info.numRedelivered).toBe(0);
});

it('acks a handler whose Observable completes (with or without values), naks one that errors', async () => {
  const js = nc.jetstream();
  const ok = (await js.publish('aj.obs.ok', JSON.stringify({ id: 'ok' }))).seq;
  const empty = (await js.publish('aj.obs.empty', JSON.stringify({ id: 'empty' }))).seq;
  const fail = (await js.publish('aj.obs.fail', JSON.stringify({ id: 'fail' }))).seq;
  await waitFor(
    () => bySeq(fail).includes('ack') && bySeq(ok).length > 0 && bySeq(empty).length > 0,
  );
  expect(bySeq(ok)).toEqual(['ack']);
  expect(bySeq(empty)).toEqual(['ack']);
  expect(bySeq(fail)).toEqual(['nak', 'ack']);
  const failEvent = settled.find((e) => e.streamSeq === fail && e.outcome === 'nak');
  expect(failEvent?.delay).toBe(50);
});

it('never runs more handlers at once than its concurrency, and uses all of it', async () => {
  const js = nc.jetstream();
  for (let i = 0; i < 12; i++) await js.publish(`aj.conc.${i}`, '{}');
  await waitFor(() => seen.concDone === 12, 8000);
  expect(seen.concMax).toBe(3);
});

it('hands a non-JSON JetStream payload to the handler as a string and acks it', async () => {
  const js = nc.jetstream();
  const a = (await js.publish('aj.raw.1', 'not json at all')).seq;
  const b = (await js.publish('aj.raw.2', new Uint8Array(0))).seq;
  await waitFor(() => bySeq(a).length > 0 && bySeq(b).length > 0);
  expect(seen.raw).toEqual(['not json at all', undefined]);
  expect(bySeq(a)).toEqual(['ack']);
  expect(bySeq(b)).toEqual(['ack']);
  expect(unhandled).toEqual([]);
});
