// Overflow helpers, the start-up checks of exclusive handlers, and the version gate.
import 'reflect-metadata';
import { Controller, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import {
  connect,
  ErrorCode,
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamContext,
  JetStreamHandler,
  ProvisioningError,
  ServerNats,
  type NatsConnection,
} from '../../lib/index.js';
import { describeSince, itBefore, startServer, type NatsServerHandle } from '../support/index.js';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const seen: Array<{ app: string; seq: number; pending: number }> = [];

async function work(app: string, ctx: JetStreamContext): Promise<void> {
  const m = ctx.getMetadata();
  seen.push({ app, seq: m.sequence.stream, pending: m.numPending });
  await new Promise((r) => setTimeout(r, 20));
}

@Controller()
class PrimaryController {
  @JetStreamHandler('load.*', { stream: 'LOAD', durable: 'load', overflow: { minPending: 20 } })
  handle(@Payload() _b: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    return work('primary', ctx);
  }
}

@Controller()
class HelperController {
  @JetStreamHandler('load.*', {
    stream: 'LOAD',
    durable: 'load',
    overflow: { minPending: 20, helper: true },
  })
  handle(@Payload() _b: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    return work('helper', ctx);
  }
}

@Controller()
class ExclusiveController {
  @JetStreamHandler('solo.*', { stream: 'SOLO', durable: 'solo', exclusive: true })
  handle(): void {}
}

async function start(controller: Type, streams = [{ name: 'LOAD', subjects: ['load.*'] }]) {
  @Module({ controllers: [controller] })
  class M {}
  const strategy = new ServerNats({ servers: server.url, streams });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy,
    logger: false,
  });
  await app.listen();
  return app;
}

describeSince('2.11.0', 'priority-group handlers', () => {
  it('overflow: the helper is served only while the backlog is at least minPending', async () => {
    const primary = await start(PrimaryController);
    const helper = await start(HelperController);
    try {
      const js = nc.jetstream();
      // A small backlog: the primary alone.
      for (let i = 0; i < 10; i++) await js.publish('load.a', '{}');
      const until = async (n: number) => {
        const end = Date.now() + 20_000;
        while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      };
      await until(10);
      expect(seen.map((s) => s.app)).toEqual(Array(10).fill('primary'));
      // A burst: the helper joins while the backlog is high, and only then.
      for (let i = 0; i < 200; i++) await js.publish('load.b', '{}');
      await until(210);
      const helped = seen.filter((s) => s.app === 'helper');
      expect(helped.length).toBeGreaterThan(0);
      // What a helper got was delivered while at least minPending - 1 others still waited.
      for (const s of helped) expect(s.pending).toBeGreaterThanOrEqual(19);
    } finally {
      await helper.close();
      await primary.close();
    }
  }, 60_000);

  it('refuses an existing consumer without the exclusive group and leaves it unchanged', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SOLO', subjects: ['solo.*'] });
    await jsm.consumers.add('SOLO', {
      durableName: 'solo',
      ackPolicy: 'explicit',
      filterSubject: 'solo.*',
    });
    const err = await start(ExclusiveController, []).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProvisioningError);
    expect((err as Error).message).toMatch(/pinned_client.*group 'exclusive'.*no priority groups/);
    const info = await jsm.consumers.info('SOLO', 'solo');
    expect(info.config.priorityPolicy ?? 'none').toBe('none');
  });

  it('refuses concurrency on an exclusive handler', async () => {
    @Controller()
    class Bad {
      @JetStreamHandler('solo.*', { stream: 'SOLO', durable: 'x', exclusive: true, concurrency: 4 })
      handle(): void {}
    }
    await expect(start(Bad, [])).rejects.toThrow(/one message at a time/);
  });

  it('refuses handlerTimeout on a plain handler, and below 1000 ms', async () => {
    @Controller()
    class Plain {
      @JetStreamHandler('solo.*', { stream: 'SOLO', durable: 'p', handlerTimeout: 5000 })
      handle(): void {}
    }
    @Controller()
    class Short {
      @JetStreamHandler('solo.*', {
        stream: 'SOLO',
        durable: 's',
        exclusive: true,
        handlerTimeout: 500,
      })
      handle(): void {}
    }
    const plain = await start(Plain, []).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(plain).toBeInstanceOf(InvalidOptionError);
    expect((plain as InvalidOptionError).code).toBe(ErrorCode.INVALID_OPTION);
    expect((plain as Error).message).toMatch(/handlerTimeout needs exclusive or partitions/);
    await expect(start(Short, [])).rejects.toThrow(/handlerTimeout must be .* >= 1000/);
  });

  it('lets an exclusive handler run past its ack wait up to handlerTimeout: one delivery, acked', async () => {
    const runs: Array<{ seq: number; delivered: number; aborted: boolean }> = [];
    @Controller()
    class Slow {
      @JetStreamHandler('slow.*', {
        stream: 'SLOW',
        durable: 'slow',
        exclusive: true,
        priorityTimeout: 1000,
        handlerTimeout: 4000,
      })
      async handle(@Payload() _b: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
        await new Promise((r) => setTimeout(r, 2500)); // 2.5 ack waits, no inProgress()
        const m = ctx.getMetadata();
        runs.push({
          seq: m.sequence.stream,
          delivered: m.numDelivered,
          aborted: ctx.signal.aborted,
        });
      }
    }
    const app = await start(Slow, [{ name: 'SLOW', subjects: ['slow.*'] }]);
    try {
      const js = nc.jetstream();
      await js.publish('slow.a', '1');
      const jsm = await nc.jetstreamManager();
      const deadline = Date.now() + 15_000;
      for (;;) {
        const info = await jsm.consumers.info('SLOW', 'slow');
        if (info.numAckPending === 0 && info.numPending === 0 && runs.length > 0) break;
        if (Date.now() > deadline) throw new Error(`not acked: ${JSON.stringify(info)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(runs).toEqual([{ seq: 1, delivered: 1, aborted: false }]);
      expect((await jsm.consumers.info('SLOW', 'slow')).numRedelivered).toBe(0);
    } finally {
      await app.close();
    }
  }, 30_000);
});

itBefore(
  '2.11.0',
  'exclusive handlers need nats-server 2.11 (FeatureNotSupportedError at start-up)',
  async () => {
    const err = await start(ExclusiveController, [{ name: 'SOLO', subjects: ['solo.*'] }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect((err as Error).message).toMatch(/2\.11/);
    // Nothing was provisioned.
    const jsm = await nc.jetstreamManager();
    await expect(jsm.streams.info('SOLO')).rejects.toThrow();
  },
);
