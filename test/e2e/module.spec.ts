import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { firstValueFrom } from 'rxjs';
import {
  ClientNats,
  InjectKv,
  JetStreamClient,
  JetStreamManager,
  NatsConnection,
  NatsModule,
} from '../../lib/index.js';
import type { KvBucket } from '../../lib/kv/index.js';
import { NatsHealthIndicator } from '../../lib/health.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
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
    return this.values[key]!;
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
