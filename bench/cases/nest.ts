import type { INestMicroservice } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import type { BenchCase, BenchGroup, ClientKind, Figures } from '../types.js';
import { RSS_SAMPLE_MASK, now, percentile, rate, sampleRss, within } from '../measure.js';
import { wireFloor } from '../wire-floor.js';

// The Nest transport: our ServerNats strategy + ClientNats proxy (lib/nest) against Nest's
// built-in NATS transport (Transport.NATS + ClientProxyFactory, on @nats-io/transport-node),
// with the same controller on both. Here the 'natsjs' client kind means "Nest built-in". The
// app and its client share the worker process, so each figure is the whole round trip's CPU
// cost on one thread: client encode, server dispatch into Nest, handler, reply, client decode.

const PEER = 'Nest built-in';
const ECHO = 'bench.echo';
const EVENT = 'bench.event';
const PAYLOAD: Echo = { n: 1, s: 'x'.repeat(100) };
const WARMUP = 500;
const SEQ_COUNT = 10_000;
const WINDOW_COUNT = 50_000;
const WINDOW = 100;
const EMIT_COUNT = 100_000;
// emit() is fire-and-forget: every EMIT_BATCH-th Observable is awaited, the rest are not.
const EMIT_BATCH = 1000;
const PHASE_TIMEOUT = 120_000;

interface Echo {
  n: number;
  s: string;
}

/** Counts the events the handler saw; `reached(n)` resolves once `n` were counted. */
class EventCounter {
  received = 0;
  private target = Infinity;
  private resolve: (() => void) | undefined;

  count(): void {
    const n = ++this.received;
    if ((n & RSS_SAMPLE_MASK) === 0) sampleRss();
    if (n >= this.target) {
      this.target = Infinity;
      this.resolve?.();
    }
  }

  reached(n: number): Promise<void> {
    if (this.received >= n) return Promise.resolve();
    return new Promise((resolve) => {
      this.target = n;
      this.resolve = resolve;
    });
  }
}

interface Stack {
  client: ClientProxy;
  events: EventCounter;
  close(): Promise<void>;
}

/** Starts the bench app on `client`'s transport and a connected client for it. */
async function startStack(client: ClientKind, url: string): Promise<Stack> {
  // Before any decorator runs: Nest's decorators and the emitted design:* metadata need it.
  await import('reflect-metadata');
  const { Controller, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { ClientProxyFactory, EventPattern, MessagePattern, Payload, Transport } =
    await import('@nestjs/microservices');

  const events = new EventCounter();

  @Controller()
  class BenchController {
    @MessagePattern(ECHO)
    echo(@Payload() data: Echo): Echo {
      return data;
    }

    @EventPattern(EVENT)
    onEvent(@Payload() _data: Echo): void {
      events.count();
    }
  }

  @Module({ controllers: [BenchController] })
  class BenchModule {}

  let app: INestMicroservice;
  let proxy: ClientProxy;
  if (client === 'ours') {
    const { ClientNats, ServerNats } = await import('../../lib/nest/index.js');
    app = await NestFactory.createMicroservice(BenchModule, {
      strategy: new ServerNats({ servers: url }),
      logger: false,
    });
    proxy = new ClientNats({ servers: url });
  } else {
    app = await NestFactory.createMicroservice(BenchModule, {
      transport: Transport.NATS,
      options: { servers: [url] },
      logger: false,
    });
    proxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
  }
  await app.listen();
  await proxy.connect();
  return {
    client: proxy,
    events,
    close: async () => {
      await proxy.close();
      await app.close();
    },
  };
}

async function withStack(
  client: ClientKind,
  url: string,
  workload: (stack: Stack, send: () => Promise<Echo>) => Promise<Figures>,
): Promise<Figures> {
  const { lastValueFrom } = await import('rxjs');
  const stack = await startStack(client, url);
  try {
    const send = () => lastValueFrom(stack.client.send<Echo, Echo>(ECHO, PAYLOAD));
    const reply = await send();
    if (reply.n !== PAYLOAD.n || reply.s !== PAYLOAD.s) {
      throw new Error(`unexpected echo: ${JSON.stringify(reply)}`);
    }
    return await workload(stack, send);
  } finally {
    await stack.close();
  }
}

// ---- send() -------------------------------------------------------------------------------

async function sendSequential(client: ClientKind, url: string): Promise<Figures> {
  return withStack(client, url, async (_stack, send) => {
    for (let i = 0; i < WARMUP; i++) await send();
    const micros = new Float64Array(SEQ_COUNT);
    for (let i = 0; i < SEQ_COUNT; i++) {
      const t0 = now();
      await send();
      micros[i] = (now() - t0) * 1000;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
    }
    sampleRss();
    return { p50: percentile(micros, 50), p99: percentile(micros, 99) };
  });
}

async function sendInFlight(client: ClientKind, url: string): Promise<Figures> {
  return withStack(client, url, async (_stack, send) => {
    for (let i = 0; i < WARMUP; i++) await send();
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < WINDOW_COUNT) {
        if ((started++ & RSS_SAMPLE_MASK) === 0) sampleRss();
        await send();
      }
    };
    const start = now();
    const all = Promise.all(Array.from({ length: WINDOW }, lane));
    await within(all, PHASE_TIMEOUT, () => `${started} of ${WINDOW_COUNT} requests started`);
    const msgsPerSec = rate(WINDOW_COUNT, start);
    sampleRss();
    return { rate: msgsPerSec };
  });
}

// ---- emit() -------------------------------------------------------------------------------

async function emitEvents(client: ClientKind, url: string): Promise<Figures> {
  const { lastValueFrom } = await import('rxjs');
  return withStack(client, url, async ({ client: proxy, events }) => {
    // emit() is hot (Nest connects it at once), so an Observable nobody awaits still publishes.
    const emitAll = async (count: number): Promise<void> => {
      for (let i = 1; i <= count; i++) {
        const sent = proxy.emit(EVENT, PAYLOAD);
        if (i % EMIT_BATCH === 0 || i === count) {
          await lastValueFrom(sent, { defaultValue: undefined });
        }
        if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
      }
    };
    const describe = (target: number) => () => `${events.received} of ${target} events counted`;
    await emitAll(WARMUP);
    await within(events.reached(WARMUP), PHASE_TIMEOUT, describe(WARMUP));
    const target = WARMUP + EMIT_COUNT;
    const start = now();
    await emitAll(EMIT_COUNT);
    await within(events.reached(target), PHASE_TIMEOUT, describe(target));
    const eventsPerSec = rate(EMIT_COUNT, start);
    sampleRss();
    return { rate: eventsPerSec };
  });
}

// ---- the group ----------------------------------------------------------------------------

const cases: BenchCase[] = [
  {
    id: 'nest-send-seq',
    peer: PEER,
    description:
      `${SEQ_COUNT.toLocaleString('en-US')} send() calls one after another (after ${WARMUP} ` +
      'warm-up calls) to a @MessagePattern echoing a ~120 B object, app and ClientProxy in ' +
      'one process; ours (ServerNats strategy + ClientNats) against Nest built-in ' +
      '(Transport.NATS + ClientProxyFactory).',
    metrics: [
      {
        key: 'p50',
        label: 'Nest send() latency p50',
        unit: 'µs',
        better: 'lower',
      },
      { key: 'p99', label: 'Nest send() latency p99', unit: 'µs', better: 'lower' },
    ],
    run: sendSequential,
  },
  {
    id: 'nest-send-floor',
    peer: PEER,
    description:
      `The round trip of nest-send-seq with no client code at all: ${SEQ_COUNT.toLocaleString('en-US')} ` +
      'request/reply round trips of a ~120 B payload on two bare sockets with hand-written ' +
      'frames (bench/wire-floor.ts), against Nest built-in send() measured again. The ratio is ' +
      'the best any transport could reach on this machine; no target.',
    metrics: [
      { key: 'p50', label: 'no-client floor p50', unit: 'µs', better: 'lower' },
      { key: 'p99', label: 'no-client floor p99', unit: 'µs', better: 'lower' },
    ],
    run: (client, url) =>
      client === 'ours'
        ? wireFloor(url, JSON.stringify(PAYLOAD).length, SEQ_COUNT, WARMUP)
        : sendSequential(client, url),
  },
  {
    id: 'nest-send-100',
    peer: PEER,
    description:
      `${WINDOW_COUNT.toLocaleString('en-US')} send() calls with ${WINDOW} in flight ` +
      `(${WINDOW} loops each awaiting its reply), same app.`,
    metrics: [
      {
        key: 'rate',
        label: `Nest send(), ${WINDOW} in flight`,
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 3 },
      },
    ],
    run: sendInFlight,
  },
  {
    id: 'nest-emit',
    peer: PEER,
    description:
      `${EMIT_COUNT.toLocaleString('en-US')} emit() calls to an @EventPattern handler that ` +
      `counts them (after ${WARMUP} warm-up events), awaiting every ` +
      `${EMIT_BATCH.toLocaleString('en-US')}th Observable; timed until the handler counted ` +
      'the last one.',
    metrics: [
      {
        key: 'rate',
        label: 'Nest emit() → handler',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 3 },
      },
    ],
    run: emitEvents,
  },
];

const group: BenchGroup = { name: 'nest', cases };
export default group;
