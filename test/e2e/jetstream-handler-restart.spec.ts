// JetStream handlers mid-flight while the server restarts.
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
beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'RI', subjects: ['ri.>'], storage: 'file' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const running = new Set<number>();
const calls: Array<{ seq: number; n: number }> = [];

@Controller()
class RiController {
  @JetStreamHandler('ri.>', {
    stream: 'RI',
    durable: 'ri-work',
    ackWait: 2000,
    concurrency: 4,
    maxDeliver: 20,
    retryDelay: 100,
  })
  async work(@Payload() p: { sleep: number }, @Ctx() ctx: JetStreamContext) {
    const seq = ctx.getMetadata().sequence.stream;
    calls.push({ seq, n: ctx.getMetadata().numDelivered });
    running.add(seq);
    try {
      await sleep(p.sleep);
    } finally {
      running.delete(seq);
    }
  }
}

async function publishRetrying(subject: string, data: string, msgId: string): Promise<number> {
  for (;;) {
    try {
      return (await nc.jetstream().publish(subject, data, { msgId })).seq;
    } catch {
      await sleep(100);
    }
  }
}

async function scenario(signal: NodeJS.Signals, tag: string, settleRedeliveries = false) {
  const settled: SettledEvent[] = [];
  calls.length = 0;
  const { app } = await startApp(
    RiController,
    { servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 },
    settled,
  );
  try {
    const seqs: number[] = [];
    for (let i = 0; i < 8; i++)
      seqs.push(
        await publishRetrying(`ri.${tag}.${i}`, JSON.stringify({ sleep: 1500 }), `${tag}-${i}`),
      );
    await waitFor(() => running.size === 4, 3000, '4 in flight');
    await server.kill(signal);
    await sleep(300);
    await server.restart();
    const acked = () => new Set(settled.filter((e) => e.outcome === 'ack').map((e) => e.streamSeq));
    await waitFor(() => seqs.every((s) => acked().has(s)), 10_000, 'every message acked').catch(
      (e) => {
        throw new Error(
          `${(e as Error).message}: acked ${[...acked()].join(',')} of ${seqs.join(',')}`,
        );
      },
    );
    await sleep(2500); // anything still unacked on the server would be redelivered by now
    const jsm = await nc.jetstreamManager();
    let info = await jsm.consumers.info('RI', 'ri-work');
    // After a crash, acks the server lost bring messages back: the app must still be running
    // to handle them, so wait for them here, before it closes.
    for (let i = 0; settleRedeliveries && i < 75; i++) {
      if (info.numAckPending === 0 && info.numPending === 0) break;
      await sleep(200);
      info = await jsm.consumers.info('RI', 'ri-work');
    }
    const firstAcks = settled
      .filter((e) => e.outcome === 'ack' && e.numDelivered === 1)
      .map((e) => e.streamSeq);
    const dupFirstAcks = firstAcks.filter((s, i) => firstAcks.indexOf(s) !== i);
    return { info, dupFirstAcks, settled, seqs };
  } finally {
    await app.close();
  }
}

it('SIGTERM restart with handlers mid-flight: every message acked, nothing left pending, no double first-delivery ack', async () => {
  const r = await scenario('SIGTERM', 'term');
  expect({
    ackPending: r.info.numAckPending,
    pending: r.info.numPending,
    dupFirstAcks: r.dupFirstAcks,
  }).toEqual({
    ackPending: 0,
    pending: 0,
    dupFirstAcks: [],
  });
}, 15_000);

// After a crash the server may have lost acks it confirmed (README, "delivery is at least
// once"): such messages come again and are handled again, so this waits for them to settle.
it('SIGKILL restart with handlers mid-flight: every message acked, and nothing left pending once redeliveries settle', async () => {
  const r = await scenario('SIGKILL', 'kill', true);
  expect({ ackPending: r.info.numAckPending, pending: r.info.numPending }).toEqual({
    ackPending: 0,
    pending: 0,
  });
}, 30_000);
