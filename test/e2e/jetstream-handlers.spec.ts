import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { Ctx, type MicroserviceOptions, Payload, RpcException } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { concat, interval, map, of, take, throwError } from 'rxjs';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  type NatsConnection,
  ServerNats,
  type SettledEvent,
} from '../../lib/index.js';
import { type NatsServerHandle, startServer } from '../support/index.js';
import { startApp } from './apps/jetstream-faults.helpers.js';
import { type Job, jobsSeen, startJobsApp } from './apps/jobs.app.js';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  nc = await connect({ servers: server.url });
});

afterEach(async () => {
  await nc?.close();
});

async function publish(job: Job): Promise<number> {
  return (await nc.jetstream().publish(`jobs.${job.id}`, JSON.stringify(job))).seq;
}

async function waitFor(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const outcomes = (settled: SettledEvent[], seq: number) =>
  settled.filter((e) => e.streamSeq === seq).map((e) => e.outcome);

const freshSeen: string[] = [];

@Controller()
class FreshController {
  @JetStreamHandler('fresh.>', { stream: 'FRESH', durable: 'fresh-only', deliverPolicy: 'new' })
  handle(@Payload() msg: { id: string }): void {
    freshSeen.push(msg.id);
  }
}

describe('@JetStreamHandler', () => {
  it('acks on success, naks with a growing delay, terms, dead-letters and respects manual control', async () => {
    const { app, settled } = await startJobsApp({ servers: server.url });
    try {
      const ok = await publish({ id: 'ok' });
      const flaky = await publish({ id: 'flaky', fail: 2 });
      const invalid = await publish({ id: 'invalid', always: 'term' });
      const doomed = await publish({ id: 'doomed', always: 'fail' });
      const manual = await publish({ id: 'manual', always: 'manual-nak' });

      await waitFor(
        () =>
          outcomes(settled, flaky).includes('ack') &&
          outcomes(settled, doomed).includes('dead-letter'),
      );
      await waitFor(() => outcomes(settled, manual).length === 2);

      expect(outcomes(settled, ok)).toEqual(['ack']);
      expect(outcomes(settled, flaky)).toEqual(['nak', 'nak', 'ack']);
      const delays = settled
        .filter((e) => e.streamSeq === flaky && e.outcome === 'nak')
        .map((e) => e.delay);
      expect(delays).toEqual([100, 200]);
      const flakyTimes = jobsSeen.filter((s) => s.id === 'flaky').map((s) => s.at);
      expect(flakyTimes[2] - flakyTimes[1]).toBeGreaterThanOrEqual(190);
      expect(outcomes(settled, invalid)).toEqual(['term']);
      expect(outcomes(settled, doomed)).toEqual(['nak', 'nak', 'dead-letter']);
      expect(outcomes(settled, manual)).toEqual(['manual', 'ack']);

      const jsm = await nc.jetstreamManager();
      const dead = await jsm.streams.getMessage('DLQ', { lastBySubject: 'dlq.jobs' });
      expect(dead.json<Job>()).toEqual({ id: 'doomed', always: 'fail' });
      // The handler's own error, not the "Internal server error" Nest's filters make of it.
      expect(dead.headers?.get('Nats-Dead-Letter-Error')).toBe('job doomed keeps failing');
      expect(dead.headers?.get('Nats-Dead-Letter-Error-Name')).toBe('Error');
      expect(dead.headers?.get('Nats-Dead-Letter-Sequence')).toBe(String(doomed));

      // term stops redelivery: nothing more arrives for the invalid job.
      await new Promise((r) => setTimeout(r, 800));
      expect(outcomes(settled, invalid)).toEqual(['term']);
      const info = await jsm.consumers.info('JOBS', 'jobs-worker');
      expect(info.numAckPending).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('keeps slow handlers alive with in-progress acks instead of redelivering', async () => {
    const { app, settled } = await startJobsApp({ servers: server.url });
    try {
      const slow = await publish({ id: 'slow', sleep: 1500 }); // 2.5 × the 600 ms ack wait
      await waitFor(() => outcomes(settled, slow).length > 0, 5000);
      expect(outcomes(settled, slow)).toEqual(['ack']);
      expect(jobsSeen.filter((s) => s.id === 'slow')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('finishes in-flight messages on close and loses nothing across an app restart', async () => {
    const settled: SettledEvent[] = [];
    const first = await startJobsApp(
      { servers: server.url, gracefulShutdownTimeout: 5000 },
      settled,
    );
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) seqs.push(await publish({ id: `batch-${i}`, sleep: 30 }));
    await waitFor(() => settled.length >= 4);
    await first.app.close();
    const acked = new Set(settled.filter((e) => e.outcome === 'ack').map((e) => e.streamSeq));
    // Everything that started was finished and acked before the connection closed.
    expect(settled.every((e) => e.outcome === 'ack')).toBe(true);

    const second = await startJobsApp({ servers: server.url }, settled);
    try {
      await waitFor(
        () => seqs.every((s) => settled.some((e) => e.streamSeq === s && e.outcome === 'ack')),
        10000,
      );
      for (const s of acked)
        expect(settled.filter((e) => e.streamSeq === s && e.outcome === 'ack')).toHaveLength(1);
    } finally {
      await second.app.close();
    }
  });

  it('re-creates its consumer when it is deleted under it, and keeps consuming', async () => {
    const settled: SettledEvent[] = [];
    const { app } = await startJobsApp({ servers: server.url }, settled);
    try {
      const before = await publish({ id: 'before-delete' });
      await waitFor(() => outcomes(settled, before).includes('ack'));
      await nc.jetstreamManager().then((jsm) => jsm.consumers.delete('JOBS', 'jobs-worker'));
      const after = await publish({ id: 'after-delete' });
      await waitFor(() => outcomes(settled, after).includes('ack'), 10_000);
      const info = await (await nc.jetstreamManager()).consumers.info('JOBS', 'jobs-worker');
      expect(info.config.ackWait).toBe(600);
    } finally {
      await app.close();
    }
  }, 15_000);

  it("with deliverPolicy 'new' skips what the stream held before start-up and takes what follows", async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'FRESH', subjects: ['fresh.>'], storage: 'memory' });
    const js = nc.jetstream();
    for (const id of ['old-1', 'old-2']) await js.publish(`fresh.${id}`, JSON.stringify({ id }));
    const { app } = await startApp(FreshController, { servers: server.url });
    try {
      for (const id of ['new-1', 'new-2']) await js.publish(`fresh.${id}`, JSON.stringify({ id }));
      await waitFor(() => freshSeen.includes('new-2'));
      // Delivery follows stream order: old messages, had they been due, would have come first.
      expect(freshSeen).toEqual(['new-1', 'new-2']);
    } finally {
      await app.close();
    }
  });

  it('provisions idempotently and refuses an incompatible change with a clear error', async () => {
    const { app } = await startJobsApp({ servers: server.url });
    await app.close();
    const again = await startJobsApp({ servers: server.url });
    await again.app.close();
    const err = await startJobsApp({
      servers: server.url,
      streams: [{ name: 'JOBS', subjects: ['jobs.>'], storage: 'memory' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROVISIONING_ERROR' });
    expect((err as Error).message).toMatch(/stream JOBS.*storage/);
  });
});

// JetStream handlers that ack by hand then throw, return Observables, run up to their concurrency, or
// get odd payloads.
describe('@JetStreamHandler: manual acks, Observables, concurrency, payloads', () => {
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
});
