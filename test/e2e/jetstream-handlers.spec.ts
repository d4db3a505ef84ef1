import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { JetStreamHandler, connect, type NatsConnection } from '../../lib/index.js';
import type { SettledEvent } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startApp } from './apps/jetstream-faults.helpers.js';
import { jobsSeen, startJobsApp, type Job } from './apps/jobs.app.js';

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
