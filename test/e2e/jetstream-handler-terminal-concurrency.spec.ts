// Terminal errors and concurrency of JetStream handlers, including handlers slower than the ack
// wait.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload, RpcException } from '@nestjs/microservices';
import { throwError } from 'rxjs';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  TermException,
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
  await jsm.streams.add({ name: 'TC', subjects: ['tc.>'], storage: 'memory' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const calls: Array<{ key: string; seq: number; n: number; at: number; end?: number }> = [];

@Controller()
class TermController {
  @JetStreamHandler('tc.term.>', {
    stream: 'TC',
    durable: 'tc-term',
    ackWait: 2000,
    maxDeliver: 3,
    retryDelay: 30,
  })
  term(@Payload() p: { kind: string }, @Ctx() ctx: JetStreamContext) {
    calls.push({
      key: p.kind,
      seq: ctx.getMetadata().sequence.stream,
      n: ctx.getMetadata().numDelivered,
      at: Date.now(),
    });
    switch (p.kind) {
      case 'term':
        throw new TermException('bad');
      case 'rpc-terminal':
        throw new RpcException({ message: 'bad', terminal: true });
      case 'rpc-string':
        throw new RpcException('just a string');
      /* eslint-disable @typescript-eslint/only-throw-error -- non-Error values thrown on purpose */
      case 'string':
        throw 'a string';
      case 'undefined':
        throw undefined;
      case 'null':
        throw null;
      /* eslint-enable @typescript-eslint/only-throw-error */
      case 'obs-term':
        return throwError(() => new TermException('obs bad'));
      case 'async-term':
        return Promise.reject(new TermException('async bad'));
    }
  }
}

describe('terminal vs retryable errors', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp(TermController, { servers: server.url });
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it.each([
    ['term', ['term']],
    ['rpc-terminal', ['term']],
    ['obs-term', ['term']],
    ['async-term', ['term']],
    ['rpc-string', ['nak', 'nak', 'nak']],
    ['string', ['nak', 'nak', 'nak']],
    ['undefined', ['nak', 'nak', 'nak']],
    ['null', ['nak', 'nak', 'nak']],
  ])('%s → %j', async (kind, expected) => {
    const { seq } = await nc.jetstream().publish(`tc.term.${kind}`, JSON.stringify({ kind }));
    await waitFor(() => outcomesOf(s.settled, seq).length >= expected.length, 3000);
    await sleep(300);
    expect(outcomesOf(s.settled, seq)).toEqual(expected);
    const ev = s.settled.filter((e) => e.streamSeq === seq);
    expect(ev.every((e) => e.error !== undefined || e.outcome === 'ack')).toBe(true);
  });
});

let active = 0;
let maxActive = 0;
const perSeqActive = new Map<number, number>();
let overlapSameSeq = false;

@Controller()
class ConcController {
  // ackWait 1000; each handler takes 2200 ms (kept alive by +WPI). Prefetched messages that wait
  // behind it are not kept alive.
  @JetStreamHandler('tc.slow1.>', {
    stream: 'TC',
    durable: 'tc-slow1',
    ackWait: 1000,
    concurrency: 1,
    maxDeliver: 10,
  })
  async slow1(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    const c = {
      key: 'slow1',
      seq: ctx.getMetadata().sequence.stream,
      n: ctx.getMetadata().numDelivered,
      at: Date.now(),
    } as (typeof calls)[number];
    calls.push(c);
    await sleep(2200);
    c.end = Date.now();
  }

  @JetStreamHandler('tc.map.>', {
    stream: 'TC',
    durable: 'tc-map',
    ackWait: 3000,
    concurrency: 4,
    maxAckPending: 2,
  })
  async map(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    calls.push({
      key: 'map',
      seq: ctx.getMetadata().sequence.stream,
      n: ctx.getMetadata().numDelivered,
      at: Date.now(),
    });
    active++;
    maxActive = Math.max(maxActive, active);
    await sleep(100);
    active--;
  }

  @JetStreamHandler('tc.mix.>', {
    stream: 'TC',
    durable: 'tc-mix',
    ackWait: 800,
    concurrency: 3,
    maxDeliver: 10,
    retryDelay: 50,
  })
  async mix(@Payload() p: { i: number }, @Ctx() ctx: JetStreamContext) {
    const seq = ctx.getMetadata().sequence.stream;
    const n = ctx.getMetadata().numDelivered;
    calls.push({ key: 'mix', seq, n, at: Date.now() });
    perSeqActive.set(seq, (perSeqActive.get(seq) ?? 0) + 1);
    if (perSeqActive.get(seq)! > 1) overlapSameSeq = true;
    try {
      if (p.i % 3 === 0) await sleep(1200); // slower than the ack wait
      if (p.i % 3 === 1 && n <= 2) throw new Error(`fail ${p.i}`);
    } finally {
      perSeqActive.set(seq, perSeqActive.get(seq)! - 1);
    }
  }
}

describe('concurrency', () => {
  let s: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    s = await startApp(ConcController, { servers: server.url });
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('concurrency 1 with handlers slower than the ack wait: every message handled exactly once (prefetched ones not redelivered)', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++)
      seqs.push((await nc.jetstream().publish(`tc.slow1.${i}`, '{}')).seq);
    await waitFor(() => seqs.every((q) => outcomesOf(s.settled, q).includes('ack')), 12_000);
    await sleep(300);
    const mine = calls.filter((c) => c.key === 'slow1');
    expect({
      handled: mine.map((c) => `${c.seq}#${c.n}`),
      acks: s.settled
        .filter((e) => seqs.includes(e.streamSeq))
        .map((e) => `${e.streamSeq}:${e.outcome}#${e.numDelivered}`),
    }).toEqual({
      handled: seqs.map((q) => `${q}#1`),
      acks: seqs.map((q) => `${q}:ack#1`),
    });
  }, 15_000);

  it('maxAckPending 2 < concurrency 4: all 12 processed exactly once, never more than 2 at once', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 12; i++) seqs.push((await nc.jetstream().publish(`tc.map.${i}`, '{}')).seq);
    await waitFor(() => seqs.every((q) => outcomesOf(s.settled, q).includes('ack')), 8000);
    const mine = calls.filter((c) => c.key === 'map');
    expect({ n: mine.length, maxActive, allFirst: mine.every((c) => c.n === 1) }).toEqual({
      n: 12,
      maxActive: 2,
      allFirst: true,
    });
  }, 12_000);

  it('mix of slow and failing handlers at concurrency 3: all acked, no seq handled twice at once, slow ones not redelivered', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 9; i++)
      seqs.push((await nc.jetstream().publish(`tc.mix.${i}`, JSON.stringify({ i }))).seq);
    await waitFor(() => seqs.every((q) => outcomesOf(s.settled, q).includes('ack')), 12_000);
    await sleep(1000);
    const mine = calls.filter((c) => c.key === 'mix');
    const slowSeqs = seqs.filter((_, i) => i % 3 === 0);
    const okSeqs = seqs.filter((_, i) => i % 3 === 2);
    expect({
      overlapSameSeq,
      slowHandled: slowSeqs.map((q) => mine.filter((c) => c.seq === q).length),
      okHandled: okSeqs.map((q) => mine.filter((c) => c.seq === q).length),
      acksPerSeq: seqs.map((q) => outcomesOf(s.settled, q).filter((o) => o === 'ack').length),
    }).toEqual({
      overlapSameSeq: false,
      slowHandled: [1, 1, 1],
      okHandled: [1, 1, 1],
      acksPerSeq: seqs.map(() => 1),
    });
  }, 15_000);
});
