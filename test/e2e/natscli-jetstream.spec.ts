// What ServerNats provisions for @JetStreamHandler, as the `nats` CLI (natscli, a Go client
// nobody here wrote) sees it: the declared stream, each handler's durable consumer with the
// declared config, and messages the CLI publishes being handled and acked.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { JetStreamHandler, ServerNats } from '../../lib/index.js';
import {
  natsCli,
  natsCliBin,
  natsCliJson,
  startServer,
  type NatsServerHandle,
} from '../support/index.js';

const handled: string[] = [];

@Controller()
class CliJobsController {
  @JetStreamHandler('clijs.orders.>', {
    stream: 'CLIJS',
    durable: 'orders',
    ackWait: 2500,
    maxDeliver: 4,
    maxAckPending: 50,
    deliverPolicy: 'new',
  })
  order(@Payload() body: { id: string }): void {
    handled.push(`order:${body.id}`);
  }

  @JetStreamHandler('clijs.audit.*', {
    stream: 'CLIJS',
    durable: 'audit',
    filterSubject: 'clijs.audit.eu',
    backoff: [1000, 4000],
    maxDeliver: 3,
    consumer: { description: 'audit trail' },
  })
  audit(@Payload() body: { id: string }): void {
    handled.push(`audit:${body.id}`);
  }

  @JetStreamHandler('clijs.plain', { stream: 'CLIJS', durable: 'plain' })
  plain(): void {
    handled.push('plain');
  }
}

@Module({ controllers: [CliJobsController] })
class CliJobsModule {}

/** The parts of `nats consumer info --json` the spec reads (the server's JSON, as-is). */
interface CliConsumerInfo {
  stream_name: string;
  name: string;
  config: {
    durable_name?: string;
    ack_policy: string;
    ack_wait: number;
    deliver_policy: string;
    filter_subject?: string;
    filter_subjects?: string[];
    max_deliver: number;
    max_ack_pending: number;
    backoff?: number[];
    description?: string;
    deliver_subject?: string;
  };
  delivered: { stream_seq: number };
  ack_floor: { stream_seq: number };
  num_ack_pending: number;
  num_pending: number;
}

const NS = 1_000_000; // nanoseconds per millisecond

let server: NatsServerHandle;
let app: Awaited<ReturnType<typeof NestFactory.createMicroservice>> | undefined;

beforeAll(async () => {
  natsCliBin(); // builds the pinned CLI on a machine that lacks it (once; minutes)
  server = await startServer({ jetstream: true });
  app = await NestFactory.createMicroservice<MicroserviceOptions>(CliJobsModule, {
    strategy: new ServerNats({
      servers: server.url,
      streams: [
        { name: 'CLIJS', subjects: ['clijs.>'], storage: 'memory', description: 'cli checks' },
      ],
    }),
    logger: false,
  });
  await app.listen();
}, 15 * 60_000);

afterAll(async () => {
  await app?.close();
  await server?.stop();
});

const consumerInfo = (name: string) =>
  natsCliJson<CliConsumerInfo>(server, ['consumer', 'info', 'CLIJS', name]);

async function waitFor(cond: () => boolean | Promise<boolean>, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('the CLI sees the stream ServerNats declared', async () => {
  const info = await natsCliJson<{
    config: { name: string; subjects: string[]; storage: string; description?: string };
  }>(server, ['stream', 'info', 'CLIJS']);
  expect(info.config).toMatchObject({
    name: 'CLIJS',
    subjects: ['clijs.>'],
    storage: 'memory',
    description: 'cli checks',
  });
  const names = (await natsCli(server, ['consumer', 'ls', 'CLIJS', '--names'])).stdout;
  expect(names.split(/\s+/).filter(Boolean).sort()).toEqual(['audit', 'orders', 'plain']);
});

it('each handler has a durable pull consumer with its declared config', async () => {
  const orders = await consumerInfo('orders');
  expect(orders).toMatchObject({ stream_name: 'CLIJS', name: 'orders' });
  expect(orders.config).toMatchObject({
    durable_name: 'orders',
    ack_policy: 'explicit',
    ack_wait: 2500 * NS,
    deliver_policy: 'new',
    filter_subject: 'clijs.orders.>',
    max_deliver: 4,
    max_ack_pending: 50,
  });
  expect(orders.config.deliver_subject).toBeUndefined(); // pull, not push

  const audit = await consumerInfo('audit');
  expect(audit.config).toMatchObject({
    durable_name: 'audit',
    ack_policy: 'explicit',
    // With a backoff the server uses backoff[0] as the ack wait.
    ack_wait: 1000 * NS,
    backoff: [1000 * NS, 4000 * NS],
    deliver_policy: 'all',
    filter_subject: 'clijs.audit.eu',
    max_deliver: 3,
    description: 'audit trail',
  });

  // The documented defaults.
  const plain = await consumerInfo('plain');
  expect(plain.config).toMatchObject({
    ack_policy: 'explicit',
    ack_wait: 30_000 * NS,
    deliver_policy: 'all',
    filter_subject: 'clijs.plain',
    max_deliver: 5,
    max_ack_pending: 1000,
  });
});

it('messages the CLI publishes are handled and acked', async () => {
  await natsCli(server, ['pub', 'clijs.orders.1', '{"id":"o1"}']);
  await natsCli(server, ['pub', 'clijs.audit.eu', '{"id":"a1"}']);
  await natsCli(server, ['pub', 'clijs.audit.us', '{"id":"skipped"}']); // outside the filter
  await waitFor(() => handled.includes('order:o1') && handled.includes('audit:a1'));

  for (const name of ['orders', 'audit']) {
    await waitFor(async () => {
      const info = await consumerInfo(name);
      return info.num_ack_pending === 0 && info.ack_floor.stream_seq === info.delivered.stream_seq;
    });
  }
  expect((await consumerInfo('audit')).num_pending).toBe(0);
  expect(handled).not.toContain('audit:skipped');
});
