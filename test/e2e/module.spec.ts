import 'reflect-metadata';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  type ClientProxy,
  ClientsModule,
  MessagePattern,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { firstValueFrom } from 'rxjs';
import { NestFactory } from '@nestjs/core';
import {
  ClientNats,
  getKvToken,
  InvalidOperationError,
  InjectKv,
  JetStreamClient,
  JetStreamManager,
  NatsConnection,
  NatsModule,
  ServerNats,
} from '../../lib/index.js';
import type { KvBucket } from '../../lib/kv/index.js';
import { NatsHealthIndicator } from '../../lib/health.js';
import { type NatsServerHandle, startServer } from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
});

afterAll(async () => {
  await server?.stop();
});

/** A stand-in for @nestjs/config's ConfigService. */
@Injectable()
class FakeConfig {
  constructor(private readonly values: Record<string, string>) {}
  get(key: string): string {
    return this.values[key];
  }
}

@Injectable()
class Lookup {
  constructor(
    @InjectKv('prices') readonly prices: KvBucket,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    @Inject('CALC') readonly calc: ClientProxy,
  ) {}
}

it('provides the connection, JetStream, KV buckets and a health indicator from a config factory', async () => {
  @Module({
    providers: [{ provide: FakeConfig, useValue: new FakeConfig({ NATS_URL: server.url }) }],
    exports: [FakeConfig],
  })
  class ConfigModule {}

  const moduleRef = await Test.createTestingModule({
    imports: [
      NatsModule.forRootAsync({
        imports: [ConfigModule],
        inject: [FakeConfig],
        useFactory: (config: FakeConfig) => ({
          servers: config.get('NATS_URL'),
          name: 'module-test',
        }),
        kv: [{ bucket: 'prices', history: 2 }],
      }),
      ClientsModule.registerAsync([
        {
          name: 'CALC',
          imports: [ConfigModule],
          inject: [FakeConfig],
          useFactory: (config: FakeConfig) => ({
            customClass: ClientNats,
            options: { servers: config.get('NATS_URL') },
          }),
        },
      ]),
      TerminusModule,
    ],
    providers: [Lookup, NatsHealthIndicator],
  }).compile();
  const app = await moduleRef.init();
  const calcApp = await startCalcApp('mod', { servers: server.url });
  try {
    const lookup = app.get(Lookup);
    expect(lookup.nc.isConnected).toBe(true);
    await lookup.prices.put('apple', '1.25');
    expect((await lookup.prices.get('apple'))?.string()).toBe('1.25');
    const info = await lookup.jsm.streams.info('KV_prices');
    expect(info.config.maxMsgsPerSubject).toBe(2);
    expect((await lookup.js.publish('$KV.prices.pear', '2')).stream).toBe('KV_prices');
    await expect(firstValueFrom(lookup.calc.send('calc.sum', [1, 2]))).resolves.toBe(3);

    const health = app.get(NatsHealthIndicator);
    const up = await health.isHealthy('nats');
    expect(up.nats.status).toBe('up');
    expect(app.get(HealthIndicatorService)).toBeDefined();
  } finally {
    await calcApp.close();
    await app.close();
  }
  // The shared connection drains on shutdown.
  expect(app.get(NatsConnection).isClosed).toBe(true);
});

it('registers ClientNats through ClientsModule.register', async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClientsModule.register([
        { name: 'CALC', customClass: ClientNats, options: { servers: server.url, timeout: 1000 } },
      ]),
    ],
  }).compile();
  const app = await moduleRef.init();
  const calcApp = await startCalcApp('reg', { servers: server.url });
  try {
    const client = app.get<ClientProxy>('CALC');
    await expect(firstValueFrom(client.send('calc.sum', [5, 5]))).resolves.toBe(10);
  } finally {
    await calcApp.close();
    await app.close();
  }
});

// NatsModule: injection in microservices, and no connection left open when start-up
// fails.
describe('NatsModule: injection in microservices and start-up failures', () => {
  let server: NatsServerHandle;

  beforeAll(async () => {
    server = await startServer({ jetstream: true, monitor: true });
  });

  afterAll(async () => {
    await server?.stop();
  });

  @Injectable()
  class KvUser {
    constructor(
      @InjectKv('audit-a') readonly a: KvBucket,
      @InjectKv('audit-b') readonly b: KvBucket,
      readonly nc: NatsConnection,
      readonly js: JetStreamClient,
      readonly jsm: JetStreamManager,
    ) {}
  }

  @Controller()
  class UsesNats {
    constructor(
      private readonly nc: NatsConnection,
      @InjectKv('audit-a') private readonly kv: KvBucket,
    ) {}

    @MessagePattern('mod.put')
    async put(): Promise<unknown> {
      const rev = await this.kv.put('k', 'v');
      return { rev, connected: this.nc.isConnected };
    }
  }

  it('forRoot (sync, global) provides connection, JetStream, manager and several KV buckets; close drains', async () => {
    @Module({ providers: [KvUser], exports: [KvUser] })
    class FeatureModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        NatsModule.forRoot({
          servers: server.url,
          isGlobal: true,
          kv: [{ bucket: 'audit-a', history: 3 }, { bucket: 'audit-b' }],
        }),
        FeatureModule,
      ],
    }).compile();
    const app = await moduleRef.init();
    const user = app.get(KvUser);
    try {
      expect(user.nc.isConnected).toBe(true);
      await user.a.put('x', '1');
      await user.b.put('y', '2');
      expect((await user.a.get('x'))?.string()).toBe('1');
      expect(user.js).toBeDefined();
      expect((await user.jsm.streams.info('KV_audit-a')).config.maxMsgsPerSubject).toBe(3);
      expect(app.get(getKvToken('audit-b'))).toBe(user.b);
    } finally {
      await app.close();
    }
    expect(user.nc.isClosed).toBe(true);
  });

  it('a string KV declaration opens an existing bucket', async () => {
    const setup = await Test.createTestingModule({
      imports: [NatsModule.forRoot({ servers: server.url, kv: [{ bucket: 'audit-s' }] })],
    }).compile();
    const s = await setup.init();
    await s.get<KvBucket>(getKvToken('audit-s')).put('x', '1');
    await s.close();
    const ok = await Test.createTestingModule({
      imports: [NatsModule.forRoot({ servers: server.url, kv: ['audit-s'] })],
    }).compile();
    const app = await ok.init();
    try {
      const kv = app.get<KvBucket>(getKvToken('audit-s'));
      expect((await kv.get('x'))?.string()).toBe('1');
    } finally {
      await app.close();
    }
  });

  it('a missing string KV bucket fails start-up clearly and does not leave the connection open', async () => {
    const t0 = Date.now();
    const err = await Test.createTestingModule({
      imports: [
        NatsModule.forRoot({ servers: server.url, name: 'missing-kv', kv: ['audit-missing'] }),
      ],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/audit-missing|not found/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${server.monitorUrl}/connz?limit=1024`);
    const body = (await res.json()) as { connections: Array<{ name?: string }> };
    expect(body.connections.filter((c) => c.name === 'missing-kv').length).toBe(0);
  });

  it('forRootAsync with an async factory inside a microservice app; app.close() closes both connections', async () => {
    @Module({
      imports: [
        NatsModule.forRootAsync({
          useFactory: async () => {
            await new Promise((r) => setTimeout(r, 20));
            return { servers: server.url, name: 'async-mod' };
          },
          kv: [{ bucket: 'audit-a' }],
        }),
      ],
      controllers: [UsesNats],
    })
    class AppModule {}

    const strategy = new ServerNats({ servers: server.url });
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
      strategy,
      logger: false,
    });
    await app.listen();
    const client = new ClientNats({ servers: server.url, timeout: 2000 });
    const nc = app.get(NatsConnection);
    try {
      const res = await firstValueFrom(
        client.send<{ rev: number; connected: boolean }>('mod.put', {}),
      );
      expect(res.connected).toBe(true);
      expect(res.rev).toBeGreaterThan(0);
    } finally {
      await client.close();
      await app.close();
    }
    expect(nc.isClosed).toBe(true);
    expect(() => strategy.unwrap()).toThrow(InvalidOperationError);
    expect(() => strategy.unwrap()).toThrow(/not listening/);
  });

  it('fails start-up clearly (no hang) when the module cannot connect', async () => {
    const t0 = Date.now();
    const err = await Test.createTestingModule({
      imports: [NatsModule.forRoot({ servers: 'nats://127.0.0.1:1', timeout: 500 })],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('CONNECTION_ERROR');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
