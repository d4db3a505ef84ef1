// ServerNats provisioning of @JetStreamHandler consumers: a declared change is applied to the
// existing consumer without losing its place; a change that would lose messages is refused.
import 'reflect-metadata';
import { Controller, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  JetStreamHandler,
  ProvisioningError,
  ServerNats,
  type NatsConnection,
} from '../../lib/index.js';
import {
  itBefore,
  itSince,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await stopAllServers();
});

async function start(controller: Type<unknown>): Promise<{ close(): Promise<void> }> {
  @Module({ controllers: [controller] })
  class M {}
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy: new ServerNats({ servers: server.url }),
    logger: false,
  });
  try {
    await app.listen();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(20);
}

/** Stream `name` with consumer `durable` (filter `<subj>.a`, ackWait 5 s) and 2 messages pending. */
async function consumerWithPending(name: string, subj: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [`${subj}.>`], storage: 'memory' });
  await jsm.consumers.add(name, {
    durableName: 'w',
    filterSubject: `${subj}.a`,
    ackWait: 5000,
    deliverPolicy: 'all',
    maxDeliver: 5,
    maxAckPending: 1000,
  });
  await nc.jetstream().publish(`${subj}.a`, '"a1"');
  await nc.jetstream().publish(`${subj}.b`, '"b1"');
  await nc.jetstream().publish(`${subj}.a`, '"a2"');
}

describe('@JetStreamHandler provisioning of an existing consumer', () => {
  it('updates a changed ackWait and delivers what was pending', async () => {
    await consumerWithPending('KEEP1', 'keep1');
    const got: string[] = [];
    @Controller()
    class C {
      @JetStreamHandler('keep1.a', {
        stream: 'KEEP1',
        durable: 'w',
        filterSubject: 'keep1.a',
        ackWait: 7000,
        maxDeliver: 5,
      })
      handle(@Payload() p: string): void {
        got.push(p);
      }
    }
    const app = await start(C);
    try {
      await until(() => got.length >= 2);
      expect(got).toEqual(['a1', 'a2']);
      const info = await (await nc.jetstreamManager()).consumers.info('KEEP1', 'w');
      expect(info.config.ackWait).toBe(7000);
    } finally {
      await app.close();
    }
  });

  itSince('2.10.0', 'moves the filter and keeps the consumer’s place (2.10+)', async () => {
    await consumerWithPending('KEEP2', 'keep2');
    const got: string[] = [];
    @Controller()
    class C {
      @JetStreamHandler('keep2.>', {
        stream: 'KEEP2',
        durable: 'w',
        filterSubject: 'keep2.>',
        ackWait: 5000,
        maxDeliver: 5,
      })
      handle(@Payload() p: string): void {
        got.push(p);
      }
    }
    const app = await start(C);
    try {
      await until(() => got.length >= 3);
      expect(got).toEqual(['a1', 'b1', 'a2']);
    } finally {
      await app.close();
    }
  });

  itBefore('2.10.0', 'refuses to move the filter of 2.9, which would skip messages', async () => {
    await consumerWithPending('KEEP3', 'keep3');
    const jsm = await nc.jetstreamManager();
    const before = await jsm.consumers.info('KEEP3', 'w');
    @Controller()
    class C {
      @JetStreamHandler('keep3.>', {
        stream: 'KEEP3',
        durable: 'w',
        filterSubject: 'keep3.>',
        ackWait: 5000,
        maxDeliver: 5,
      })
      handle(): void {}
    }
    const err = await start(C).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProvisioningError);
    expect((err as Error).message).toMatch(/filterSubject.*skip/);
    const after = await jsm.consumers.info('KEEP3', 'w');
    expect(after.config).toEqual(before.config);
    expect(after.numPending).toBe(2);
  });
});
