// JetStream provisioning done by ServerNats at start-up.
import 'reflect-metadata';
import { Controller, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  ProvisioningError,
  ServerNats,
  type NatsConnection,
  type ServerNatsOptions,
} from '../../lib/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

let server: NatsServerHandle;
let nc: NatsConnection;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);

beforeAll(async () => {
  server = await startServer({ jetstream: true, monitor: true });
  nc = await connect({ servers: server.url });
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await nc?.close();
  await stopAllServers();
});

async function connNames(): Promise<string[]> {
  const res = await fetch(`${server.monitorUrl}/connz`);
  const body = (await res.json()) as { connections?: Array<{ name?: string }> };
  return (body.connections ?? []).map((c) => c.name ?? '');
}

async function start(
  controller: Type<unknown>,
  options: ServerNatsOptions,
): Promise<{ app?: { close(): Promise<void> }; err?: unknown; strategy: ServerNats }> {
  @Module({ controllers: [controller] })
  class M {}
  const strategy = new ServerNats({ servers: server.url, ...options });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy,
    logger: false,
  });
  try {
    await app.listen();
    return { app, strategy };
  } catch (err) {
    await app.close().catch(() => undefined);
    return { err, strategy };
  }
}

const seen: string[] = [];

describe('provisioning', () => {
  it('refuses at start-up a handler whose stream is neither existing nor declared, closing its connection', async () => {
    @Controller()
    class C {
      @JetStreamHandler('nostream.>', { stream: 'NOSTREAM', durable: 'w1' })
      handle(): void {}
    }
    const { err, app } = await start(C, { name: 'audit-nostream' });
    await app?.close();
    expect(err).toBeInstanceOf(ProvisioningError);
    expect((err as Error).message).toMatch(/NOSTREAM/);
    await sleep(100);
    expect(await connNames()).not.toContain('audit-nostream');
  });

  it('refuses an incompatible stream change naming the field, and leaves no connection open', async () => {
    await (
      await nc.jetstreamManager()
    ).streams.add({ name: 'INC', subjects: ['inc.>'], storage: 'file' });
    @Controller()
    class C {
      @JetStreamHandler('inc.>', { stream: 'INC', durable: 'w' })
      handle(): void {}
    }
    const { err, app } = await start(C, {
      name: 'audit-incompatible',
      streams: [{ name: 'INC', subjects: ['inc.>'], storage: 'memory' }],
    });
    await app?.close();
    expect(err).toBeInstanceOf(ProvisioningError);
    expect((err as Error).message).toMatch(/storage/);
    await sleep(100);
    expect(await connNames()).not.toContain('audit-incompatible');
  });

  it('applies compatible stream changes (maxAge, description, maxMsgs)', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'COMPAT', subjects: ['compat.>'], storage: 'memory' });
    @Controller()
    class C {}
    const { err, app } = await start(C, {
      streams: [
        {
          name: 'COMPAT',
          subjects: ['compat.>'],
          storage: 'memory',
          maxAge: 3_600_000,
          description: 'audited',
          maxMsgs: 1000,
        },
      ],
    });
    await app?.close();
    expect(err).toBeUndefined();
    const cfg = (await jsm.streams.info('COMPAT')).config;
    expect(cfg).toMatchObject({ maxAge: 3_600_000, description: 'audited', maxMsgs: 1000 });
  });

  it('is idempotent for a declared mirror stream (no spurious update on a second start)', async () => {
    @Controller()
    class C {}
    const streams = [
      { name: 'MSRC', subjects: ['msrc.>'], storage: 'memory' as const },
      { name: 'MIRROR', storage: 'memory' as const, mirror: { name: 'MSRC' } },
    ];
    const first = await start(C, { streams });
    await first.app?.close();
    expect(first.err).toBeUndefined();
    const second = await start(C, { streams });
    await second.app?.close();
    expect(second.err).toBeUndefined();
  });

  it('updates a consumer whose ackWait changed', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ACKW', subjects: ['ackw.>'], storage: 'memory' });
    @Controller()
    class C1 {
      @JetStreamHandler('ackw.>', { stream: 'ACKW', durable: 'aw', ackWait: 5000 })
      handle(): void {}
    }
    const a = await start(C1, {});
    await a.app?.close();
    expect(a.err).toBeUndefined();
    @Controller()
    class C2 {
      @JetStreamHandler('ackw.>', { stream: 'ACKW', durable: 'aw', ackWait: 7000 })
      handle(): void {}
    }
    const b = await start(C2, {});
    await b.app?.close();
    expect(b.err).toBeUndefined();
    expect((await jsm.consumers.info('ACKW', 'aw')).config.ackWait).toBe(7000);
  });

  it('applies a changed consumer filter subject or refuses it naming filterSubject', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'FILT', subjects: ['filt.>'], storage: 'memory' });
    @Controller()
    class C1 {
      @JetStreamHandler('filt.a', { stream: 'FILT', durable: 'fw' })
      handle(): void {}
    }
    const a = await start(C1, {});
    await a.app?.close();
    expect(a.err).toBeUndefined();
    @Controller()
    class C2 {
      @JetStreamHandler('filt.b', { stream: 'FILT', durable: 'fw' })
      handle(): void {}
    }
    const b = await start(C2, { name: 'audit-filter' });
    await b.app?.close();
    if (b.err === undefined) {
      // Accepted: then the server must really have the new filter.
      expect((await jsm.consumers.info('FILT', 'fw')).config.filterSubject).toBe('filt.b');
    } else {
      expect(b.err).toBeInstanceOf(ProvisioningError);
      expect((b.err as Error).message).toMatch(/filterSubject/);
    }
  });

  it('refuses two handlers declaring the same durable on one stream', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'DUP', subjects: ['dup.>'], storage: 'memory' });
    @Controller()
    class C {
      @JetStreamHandler('dup.a', { stream: 'DUP', durable: 'same' })
      a(): void {
        seen.push('a');
      }
      @JetStreamHandler('dup.b', { stream: 'DUP', durable: 'same' })
      b(): void {
        seen.push('b');
      }
    }
    const { err, app } = await start(C, { name: 'audit-dup' });
    if (err === undefined) {
      // Accepted: then each handler must at least get its own subject's messages.
      try {
        seen.length = 0;
        for (let i = 0; i < 4; i++) {
          await nc.jetstream().publish('dup.a', '"for a"');
          await nc.jetstream().publish('dup.b', '"for b"');
        }
        await sleep(1000);
        const filter = (await jsm.consumers.info('DUP', 'same')).config.filterSubject;
        expect({ filter, a: seen.filter((x) => x === 'a').length }).toEqual({
          filter,
          a: 4,
        });
      } finally {
        await app?.close();
      }
      return;
    }
    expect((err as Error).message).toMatch(/same/);
  });

  it('refuses durable names with invalid characters clearly and quickly', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BADNAME', subjects: ['badname.>'], storage: 'memory' });
    for (const durable of ['a.b', 'a b', 'a*', 'a>', '']) {
      @Controller()
      class C {
        @JetStreamHandler('badname.x', { stream: 'BADNAME', durable })
        a(): void {}
      }
      const started = Date.now();
      const { err, app } = await start(C, {});
      await app?.close();
      expect({ durable, failed: err instanceof Error }).toEqual({ durable, failed: true });
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });

  it('stops the workers already started when a later handler fails provisioning', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'PARTIAL', subjects: ['partial.>'], storage: 'memory' });
    const calls: string[] = [];
    @Controller()
    class C {
      @JetStreamHandler('partial.ok', { stream: 'PARTIAL', durable: 'ok' })
      ok(@Payload() p: unknown): void {
        calls.push(String(p));
      }
      @JetStreamHandler('missing.x', { stream: 'MISSING_STREAM', durable: 'x' })
      bad(): void {}
    }
    const { err } = await start(C, { name: 'audit-partial' });
    expect(err).toBeInstanceOf(ProvisioningError);
    await nc.jetstream().publish('partial.ok', '"after-failure"');
    await sleep(500);
    expect(calls).toEqual([]);
    expect(await connNames()).not.toContain('audit-partial');
    expect(unhandled).toEqual([]);
  });

  it('keeps a slow handler alive when the consumer declares backoff (server ackWait = backoff[0])', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BACKOFF', subjects: ['backoff.>'], storage: 'memory' });
    const deliveries: number[] = [];
    @Controller()
    class C {
      @JetStreamHandler('backoff.x', {
        stream: 'BACKOFF',
        durable: 'bo',
        // backoff[0] leaves the in-progress pings (every half of it) room on a loaded machine;
        // without them the handler, 2.5 backoffs long, would see a redelivery.
        backoff: [1000, 4000],
        maxDeliver: 3,
        concurrency: 2,
      })
      async handle(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
        deliveries.push(ctx.getMetadata().numDelivered);
        await sleep(2500);
      }
    }
    const { err, app } = await start(C, {});
    expect(err).toBeUndefined();
    try {
      const info = await jsm.consumers.info('BACKOFF', 'bo');
      await nc.jetstream().publish('backoff.x', '"slow"');
      await sleep(3500);
      expect({ deliveries, serverAckWait: info.config.ackWait }).toEqual({
        deliveries: [1],
        serverAckWait: info.config.ackWait,
      });
    } finally {
      await app?.close();
    }
  }, 15_000);
});
