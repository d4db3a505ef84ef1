// A small Nest app run as a child process by the exclusive / partitioned handler specs:
//   node --import ./tools/ts-register.js test/e2e/apps/exclusive.app.ts
// with NATS_URL, APP_MODE ('exclusive' | 'partitions') and APP_ID. Its handler reports the start
// and the end of each message on `rec.<APP_ID>` (a connection of its own), so the spec can
// check order and that no two instances process at once. It prints `ready` once listening and
// exits when its stdin closes (the spec, or the Jest worker, went away). A message whose body
// has `hang: true` hangs its handler forever on its first delivery; `abort` records when the
// transport gave a message up (`ctx.signal`). APP_PRIORITY_TIMEOUT sets the exclusive handler's
// priorityTimeout (and so its ack wait).
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { connect, JetStreamContext, JetStreamHandler, ServerNats } from '../../../lib/index.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const mode = process.env.APP_MODE ?? 'exclusive';
const id = process.env.APP_ID ?? `app-${process.pid}`;
const work = Number(process.env.APP_WORK_MS ?? '10');
const priorityTimeout = process.env.APP_PRIORITY_TIMEOUT
  ? Number(process.env.APP_PRIORITY_TIMEOUT)
  : undefined;

/** One record per start and end of a message. */
export interface Rec {
  app: string;
  phase: 'start' | 'end' | 'abort';
  seq: number;
  subject: string;
  delivered: number;
  at: number;
  body: string;
}

const rec = await connect({ servers: url, name: `${id}-rec` });
async function handle(body: unknown, ctx: JetStreamContext): Promise<void> {
  const m = ctx.getMetadata();
  const base = {
    app: id,
    seq: m.sequence.stream,
    subject: ctx.getSubject(),
    delivered: m.numDelivered,
    body: JSON.stringify(body),
  };
  const record = (phase: Rec['phase']): void =>
    void rec.publish(`rec.${id}`, JSON.stringify({ ...base, phase, at: Date.now() }));
  ctx.signal.addEventListener('abort', () => record('abort'));
  record('start');
  if ((body as { hang?: boolean }).hang && m.numDelivered === 1) await new Promise(() => {});
  await new Promise((r) => setTimeout(r, work));
  record('end');
  // The end record reaches the server before the ack does (the next message waits for the ack).
  await rec.flush();
}

@Controller()
class ExclusiveController {
  @JetStreamHandler('ticks.*', {
    stream: 'TICKS',
    durable: 'ticker',
    exclusive: true,
    ...(priorityTimeout ? { priorityTimeout } : {}),
  })
  tick(@Payload() body: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    return handle(body, ctx);
  }
}

@Controller()
class PartitionedController {
  @JetStreamHandler('orders.*', {
    stream: 'ORDERS',
    durable: 'orders',
    partitions: 6,
    priorityTimeout: 2000,
    membership: { ttl: 3000 },
  })
  order(@Payload() body: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    return handle(body, ctx);
  }
}

@Module({ controllers: [mode === 'partitions' ? PartitionedController : ExclusiveController] })
class AppModule {}

const strategy = new ServerNats({
  servers: url,
  name: id,
  streams: [
    mode === 'partitions'
      ? { name: 'ORDERS', subjects: ['orders.*'], storage: 'file' }
      : { name: 'TICKS', subjects: ['ticks.*'], storage: 'file' },
  ],
});
const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
  strategy,
  logger: process.env.APP_LOG ? ['log', 'warn', 'error', 'debug'] : false,
});
await app.listen();
process.stdout.write('ready\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => rec.close())
    .then(() => process.exit(0));
});
