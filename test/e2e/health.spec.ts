// NatsHealthIndicator with @nestjs/terminus against a real server.
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, NatsConnection } from '../../lib/index.js';
import { NatsHealthIndicator } from '../../lib/health.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

afterAll(stopAllServers);

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startServer();
});

async function setup(nc: NatsConnection) {
  const moduleRef = await Test.createTestingModule({
    imports: [TerminusModule],
    providers: [{ provide: NatsConnection, useValue: nc }, NatsHealthIndicator],
  }).compile();
  const app = await moduleRef.init();
  return { app, health: app.get(NatsHealthIndicator), checks: app.get(HealthCheckService) };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await sleep(10);
  }
}

it('reports up with server and rtt while connected, through HealthCheckService too', async () => {
  const nc = await connect({ servers: server.url });
  const { app, health, checks } = await setup(nc);
  try {
    const r = await health.isHealthy('nats');
    expect(r.nats).toMatchObject({ status: 'up', server: server.url });
    expect(typeof r.nats.rttMs).toBe('number');
    const result = await checks.check([() => health.isHealthy('nats')]);
    expect(result.status).toBe('ok');
  } finally {
    await app.close();
    await nc.close();
  }
});

it('reports down (reconnecting) while the server is gone, and up again after', async () => {
  const s = await startServer();
  const nc = await connect({ servers: s.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  const { app, health, checks } = await setup(nc);
  try {
    await s.kill();
    await until(() => !nc.isConnected);
    const r = await health.isHealthy('nats');
    expect(r.nats).toMatchObject({ status: 'down', state: 'reconnecting' });
    const err = await checks.check([() => health.isHealthy('nats')]).catch((e: unknown) => e);
    expect((err as { getStatus?: () => number }).getStatus?.()).toBe(503);
    await s.restart();
    await until(() => nc.isConnected);
    expect((await health.isHealthy('nats')).nats.status).toBe('up');
  } finally {
    await app.close();
    await nc.close();
  }
});

it('reports down (closed) after close, without throwing', async () => {
  const nc = await connect({ servers: server.url });
  const { app, health } = await setup(nc);
  await nc.close();
  const r = await health.isHealthy('nats');
  expect(r.nats).toMatchObject({ status: 'down', state: 'closed' });
  await app.close();
});

it('reports down within the timeout when the server is frozen (SIGSTOP)', async () => {
  const s = await startServer();
  const nc = await connect({ servers: s.url, reconnectTimeWait: 50 });
  const { app, health } = await setup(nc);
  try {
    await s.freeze();
    const started = Date.now();
    const r = await health.isHealthy('nats', 300);
    expect(r.nats.status).toBe('down');
    expect(Date.now() - started).toBeLessThan(1000);
  } finally {
    s.thaw();
    await app.close();
    await nc.close();
  }
});

it('does not leave an rtt probe behind that rejects unhandled after a timeout', async () => {
  const unhandled: unknown[] = [];
  const on = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', on);
  const s = await startServer();
  const nc = await connect({ servers: s.url, reconnect: false });
  const { app, health } = await setup(nc);
  try {
    await s.freeze();
    const r = await health.isHealthy('nats', 100);
    expect(r.nats.status).toBe('down');
    // Closing fails the outstanding PING waiter of the probe.
    s.thaw();
    await nc.close();
    await sleep(50);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', on);
    await app.close();
  }
});
