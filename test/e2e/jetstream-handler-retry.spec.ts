// Retry delays of failing JetStream handlers: the default doubling and odd retryDelay values.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  type NatsConnection,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { outcomesOf, sleep, startApp, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'RT', subjects: ['rt.>'], storage: 'memory' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const seen: Record<string, Array<{ n: number; at: number }>> = {};
function record(key: string, ctx: JetStreamContext) {
  (seen[key] ??= []).push({ n: ctx.getMetadata().numDelivered, at: Date.now() });
  return ctx.getMetadata().numDelivered;
}

@Controller()
class DefaultRetry {
  @JetStreamHandler('rt.default', { stream: 'RT', durable: 'rt-default', ackWait: 10_000 })
  h(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('default', ctx) <= 2) throw new Error('fail');
  }
}

it('default retryDelay: nak 1000 ms then 2000 ms, then ack; redeliveries really spaced', async () => {
  const { app, settled } = await startApp(DefaultRetry, { servers: server.url });
  try {
    const { seq } = await nc.jetstream().publish('rt.default', '{}');
    await waitFor(() => outcomesOf(settled, seq).includes('ack'), 8000);
    const ev = settled.filter((e) => e.streamSeq === seq);
    expect(ev.map((e) => [e.outcome, e.numDelivered, e.delay])).toEqual([
      ['nak', 1, 1000],
      ['nak', 2, 2000],
      ['ack', 3, undefined],
    ]);
    const t = seen.default.map((s) => s.at);
    expect(t[1] - t[0]).toBeGreaterThanOrEqual(950);
    expect(t[2] - t[1]).toBeGreaterThanOrEqual(1950);
    expect(t[2] - t[1]).toBeLessThan(3000);
  } finally {
    await app.close();
  }
}, 15_000);

const fnDelays: Record<string, (n: number) => number> = {
  neg: () => -500,
  nan: () => NaN,
  inf: () => Infinity,
  huge: () => 1e16, // ~317 years in ms
};

@Controller()
class OddRetry {
  @JetStreamHandler('rt.neg', {
    stream: 'RT',
    durable: 'rt-neg',
    ackWait: 2000,
    retryDelay: (n) => fnDelays.neg(n),
  })
  neg(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('neg', ctx) <= 1) throw new Error('fail');
  }
  @JetStreamHandler('rt.nan', {
    stream: 'RT',
    durable: 'rt-nan',
    ackWait: 2000,
    retryDelay: (n) => fnDelays.nan(n),
  })
  nan(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('nan', ctx) <= 1) throw new Error('fail');
  }
  @JetStreamHandler('rt.inf', {
    stream: 'RT',
    durable: 'rt-inf',
    ackWait: 1500,
    retryDelay: (n) => fnDelays.inf(n),
  })
  inf(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('inf', ctx) <= 1) throw new Error('fail');
  }
  @JetStreamHandler('rt.huge', {
    stream: 'RT',
    durable: 'rt-huge',
    ackWait: 1500,
    retryDelay: (n) => fnDelays.huge(n),
  })
  huge(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('huge', ctx) <= 1) throw new Error('fail');
  }
  @JetStreamHandler('rt.throws', {
    stream: 'RT',
    durable: 'rt-throws',
    ackWait: 1500,
    retryDelay: () => {
      throw new Error('retryDelay blew up');
    },
  })
  throws(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('throws', ctx) <= 1) throw new Error('fail');
  }
  @JetStreamHandler('rt.negnum', {
    stream: 'RT',
    durable: 'rt-negnum',
    ackWait: 2000,
    retryDelay: -100,
  })
  negnum(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    if (record('negnum', ctx) <= 1) throw new Error('fail');
  }
}

describe('odd retryDelay values', () => {
  let started: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    started = await startApp(OddRetry, { servers: server.url });
  });
  afterAll(async () => {
    await started?.app.close();
  });

  it('a negative function result is clamped to 0: reported delay 0, redelivered at once', async () => {
    const { seq } = await nc.jetstream().publish('rt.neg', '{}');
    await waitFor(() => outcomesOf(started.settled, seq).includes('ack'), 3000);
    const nak = started.settled.find((e) => e.streamSeq === seq && e.outcome === 'nak');
    expect(nak?.delay).toBe(0);
    expect(seen.neg[1].at - seen.neg[0].at).toBeLessThan(500);
  });

  it('a negative number retryDelay is clamped to 0 like the function form (reported delay >= 0)', async () => {
    const { seq } = await nc.jetstream().publish('rt.negnum', '{}');
    await waitFor(() => outcomesOf(started.settled, seq).includes('ack'), 3000);
    const nak = started.settled.find((e) => e.streamSeq === seq && e.outcome === 'nak');
    expect(nak?.delay).toBeGreaterThanOrEqual(0);
  });

  it('a NaN function result: the reported nak delay is a finite number (what was really applied)', async () => {
    const { seq } = await nc.jetstream().publish('rt.nan', '{}');
    await waitFor(() => outcomesOf(started.settled, seq).includes('ack'), 3000);
    const nak = started.settled.find((e) => e.streamSeq === seq && e.outcome === 'nak');
    expect(Number.isFinite(nak?.delay)).toBe(true);
  });

  it('an Infinity/huge function result: the nak is honoured (no redelivery at ack wait)', async () => {
    const a = (await nc.jetstream().publish('rt.inf', '{}')).seq;
    const b = (await nc.jetstream().publish('rt.huge', '{}')).seq;
    await waitFor(
      () => outcomesOf(started.settled, a).length > 0 && outcomesOf(started.settled, b).length > 0,
      3000,
    );
    await sleep(2500); // > ackWait 1500
    expect({
      inf: seen.inf.map((s) => s.n),
      huge: seen.huge.map((s) => s.n),
      infEvents: outcomesOf(started.settled, a),
      hugeEvents: outcomesOf(started.settled, b),
      infGapMs: seen.inf.length > 1 ? seen.inf[1].at - seen.inf[0].at : undefined,
      hugeGapMs: seen.huge.length > 1 ? seen.huge[1].at - seen.huge[0].at : undefined,
      reportedDelays: started.settled
        .filter((e) => (e.streamSeq === a || e.streamSeq === b) && e.outcome === 'nak')
        .map((e) => e.delay),
    }).toEqual({
      inf: [1],
      huge: [1],
      infEvents: ['nak'],
      hugeEvents: ['nak'],
      infGapMs: undefined,
      hugeGapMs: undefined,
      reportedDelays: [86_400_000, 86_400_000], // capped at a day: a delay the server accepts
    });
  }, 10_000);

  it('a retryDelay that throws still settles the message (nak reported), not left to the ack wait', async () => {
    const { seq } = await nc.jetstream().publish('rt.throws', '{}');
    await waitFor(() => seen.throws?.length >= 1, 3000);
    await sleep(500);
    expect(outcomesOf(started.settled, seq)).toEqual(['nak']);
  });
});
