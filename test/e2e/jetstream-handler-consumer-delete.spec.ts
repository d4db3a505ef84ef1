// JetStream handlers whose durable is deleted by an operator while messages are in flight.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  type NatsConnection,
  type SettledEvent,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { sleep, startApp, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'CD', subjects: ['cd.>'], storage: 'memory' });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await nc?.close();
  await server?.stop();
});

const running = new Set<number>();

@Controller()
class CdController {
  @JetStreamHandler('cd.>', { stream: 'CD', durable: 'cd-work', ackWait: 3000, concurrency: 2 })
  async work(@Payload() p: { sleep?: number }, @Ctx() ctx: JetStreamContext) {
    const seq = ctx.getMetadata().sequence.stream;
    running.add(seq);
    try {
      if (p.sleep) await sleep(p.sleep);
    } finally {
      running.delete(seq);
    }
  }
}

it('consumer deleted while handlers are mid-flight and messages are buffered: re-created, every message eventually acked', async () => {
  const settled: SettledEvent[] = [];
  const { app, logger } = await startApp(CdController, { servers: server.url }, settled);
  try {
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++)
      seqs.push((await nc.jetstream().publish(`cd.mid.${i}`, JSON.stringify({ sleep: 600 }))).seq);
    await waitFor(() => running.size === 2);
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.delete('CD', 'cd-work');
    const acked = () => new Set(settled.filter((e) => e.outcome === 'ack').map((e) => e.streamSeq));
    await waitFor(() => seqs.every((s) => acked().has(s)), 10_000, 'all acked').catch(
      (e: Error) => {
        throw new Error(
          `${e.message}: acked ${[...acked()].join(',')} of ${seqs.join(',')}\n${logger.lines.filter((l) => !/^(verbose|debug)/.test(l)).join('\n')}`,
        );
      },
    );
    expect(unhandled).toEqual([]);
  } finally {
    await app.close();
  }
}, 15_000);

it('app.close() while the worker is backing off to re-create a deleted consumer: prompt, and the consumer is not re-created afterwards', async () => {
  const { app } = await startApp(CdController, { servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.delete('CD', 'cd-work');
  await sleep(100); // the 409 reaches the worker; recover() sleeps 500 ms
  const t0 = Date.now();
  await app.close();
  expect(Date.now() - t0).toBeLessThan(1000);
  await sleep(1500);
  const exists = await jsm.consumers.info('CD', 'cd-work').then(
    () => true,
    () => false,
  );
  expect(exists).toBe(false);
  expect(unhandled).toEqual([]);
});
