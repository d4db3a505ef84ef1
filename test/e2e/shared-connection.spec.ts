import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import {
  connect,
  InvalidOptionError,
  JetStreamHandler,
  NatsConnection,
  NatsModule,
  NoRespondersError,
  ServerNats,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';
import { NoHttpAdapter } from './apps/no-http.adapter.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer({ jetstream: true, monitor: true });
});

afterAll(async () => {
  await server?.stop();
});

async function waitFor(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The connection's first request opens its request inbox (`_INBOX.<id>.*`), which stays for its
 * lifetime; open it before counting so that it is in the "before" too.
 */
async function openRequestInbox(nc: NatsConnection): Promise<void> {
  await nc.request('nobody.listens', '', { timeout: 1000 }).catch(() => undefined);
}

/** The subscriptions the server holds for the connection named `name`. */
async function serverSubs(name: string): Promise<string[]> {
  const res = await fetch(`${server.monitorUrl}/connz?subs=1&limit=1024`);
  const body = (await res.json()) as {
    connections: Array<{ name?: string; subscriptions_list?: string[] }>;
  };
  const conns = body.connections.filter((c) => c.name === name);
  expect(conns).toHaveLength(1);
  return conns[0].subscriptions_list ?? [];
}

const received: unknown[] = [];
const jobs: unknown[] = [];

@Controller()
class SharedController {
  @MessagePattern('shared.sum')
  sum(@Payload() nums: number[]): number {
    return nums.reduce((a, b) => a + b, 0);
  }

  @EventPattern('shared.events')
  onEvent(@Payload() data: unknown): void {
    received.push(data);
  }

  @JetStreamHandler('shared.jobs.>', { stream: 'SHARED_JOBS', durable: 'shared-worker' })
  job(@Payload() data: unknown): void {
    jobs.push(data);
  }
}

/** A ServerNats that records what the shared connection looks like right after its close(). */
class ProbedServerNats extends ServerNats {
  afterClose: (() => Promise<void>) | undefined;
  override async close(): Promise<void> {
    await super.close();
    await this.afterClose?.();
  }
}

it('serves on NatsModule’s connection in a hybrid app; app.close() leaves it to the module', async () => {
  @Module({
    imports: [NatsModule.forRoot({ servers: server.url, name: 'shared-module' })],
    controllers: [SharedController],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, new NoHttpAdapter(), { logger: false });
  const nc = app.get(NatsConnection);
  await openRequestInbox(nc);
  const before = await serverSubs('shared-module');
  const strategy = new ProbedServerNats({
    connection: nc,
    queue: 'shared',
    streams: [{ name: 'SHARED_JOBS', subjects: ['shared.jobs.>'], storage: 'memory' }],
    service: { name: 'shared-svc', version: '1.0.0' },
  });
  app.connectMicroservice({ strategy });
  const client = await connect({ servers: server.url });
  const probe: { subs?: string[]; open?: boolean; reply?: string; noResponders?: unknown[] } = {};
  try {
    await app.startAllMicroservices();
    await app.init();
    expect(strategy.unwrap<NatsConnection>()).toBe(nc);

    // Every kind of handler works on the shared connection.
    expect((await client.request('shared.sum', JSON.stringify([1, 2, 3]))).json()).toBe(6);
    client.publish('shared.events', JSON.stringify({ n: 1 }));
    await client.jetstream().publish('shared.jobs.1', JSON.stringify({ job: 1 }));
    await waitFor(() => received.length === 1 && jobs.length === 1);
    const [info] = await client.services.info('shared-svc');
    expect(info?.endpoints.map((e) => e.subject)).toEqual(['shared.sum']);
    expect((await serverSubs('shared-module')).length).toBeGreaterThan(before.length);

    // Between the transport's close and the module's drain: still open and usable, and
    // nothing of the transport's is left on it.
    const responder = client.subscribe('probe.echo', { callback: (m) => m.respond(m.data) });
    await client.flush();
    strategy.afterClose = async () => {
      probe.open = !nc.isClosed && nc.isConnected;
      probe.subs = await serverSubs('shared-module');
      probe.reply = (await nc.request('probe.echo', 'still here')).string();
      probe.noResponders = await Promise.all(
        ['shared.sum', '$SRV.PING.shared-svc'].map((subject) =>
          nc.request(subject, '[]', { timeout: 1000 }).catch((e: unknown) => e),
        ),
      );
    };
    await app.close();
    responder.unsubscribe();
  } finally {
    await client.close();
    if (!nc.isClosed) await nc.close();
  }
  expect(probe.open).toBe(true);
  expect(probe.subs).toEqual(before);
  expect(probe.reply).toBe('still here');
  expect(probe.noResponders).toHaveLength(2);
  for (const e of probe.noResponders!) expect(e).toBeInstanceOf(NoRespondersError);
  // Then the module drained and closed its connection, as without a shared transport.
  expect(nc.isClosed).toBe(true);
});

it('serves on a connection from connect(); close() leaves it open with none of its subscriptions', async () => {
  const nc = await connect({ servers: server.url, name: 'own-shared' });
  try {
    await openRequestInbox(nc);
    const before = await serverSubs('own-shared');
    const app = await startCalcApp('shared', { connection: nc, queue: 'calc' });
    const statuses: string[] = [];
    const strategy = (app as unknown as { serverInstance: ServerNats }).serverInstance;
    const watching = strategy.status.subscribe((s) => statuses.push(s));
    expect((await nc.request('calc.sum', JSON.stringify([2, 3]))).json()).toBe(5);
    expect(statuses).toEqual(['connected']);
    await app.close();
    watching.unsubscribe();

    expect(nc.isClosed).toBe(false);
    await nc.flush();
    expect(await serverSubs('own-shared')).toEqual(before);
    await expect(nc.request('calc.sum', '[1]')).rejects.toBeInstanceOf(NoRespondersError);
  } finally {
    await nc.close();
  }
});

it('reports the owner closing the shared connection under it as disconnected', async () => {
  const nc = await connect({ servers: server.url });
  const app = await startCalcApp('shared-closed', { connection: nc });
  const strategy = (app as unknown as { serverInstance: ServerNats }).serverInstance;
  const events: string[] = [];
  strategy.on('disconnected', () => events.push('disconnected'));
  const statuses: string[] = [];
  const watching = strategy.status.subscribe((s) => statuses.push(s));
  try {
    await nc.close();
    await waitFor(() => events.length === 1);
    expect(statuses.at(-1)).toBe('disconnected');
  } finally {
    watching.unsubscribe();
    await app.close();
  }
});

it('refuses connect options next to a shared connection, naming them', async () => {
  const nc = await connect({ servers: server.url });
  try {
    let err: unknown;
    try {
      new ServerNats({ connection: nc, servers: server.url, name: 'x', queue: 'q' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((err as Error).message).toMatch(/'connection' cannot be combined .*\(servers, name\)/);
    // Options left undefined (an unset environment variable) are no conflict.
    expect(() => new ServerNats({ connection: nc, servers: undefined })).not.toThrow();
  } finally {
    await nc.close();
  }
});

it('a failed listen() on a shared connection undoes its consumers and leaves the connection open', async () => {
  const nc = await connect({ servers: server.url, name: 'shared-failed' });
  try {
    await openRequestInbox(nc);
    const before = await serverSubs('shared-failed');
    @Module({ controllers: [SharedController] })
    class FailingModule {}
    const err: unknown = await NestFactory.createMicroservice(FailingModule, {
      // The JetStream consumer starts, then the service name is refused.
      strategy: new ServerNats({
        connection: nc,
        streams: [{ name: 'SHARED_JOBS', subjects: ['shared.jobs.>'], storage: 'memory' }],
        service: { name: 'not a valid name!', version: '1.0.0' },
      }),
      logger: false,
    })
      .then((app) => app.listen().finally(() => app.close()))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(nc.isClosed).toBe(false);
    await nc.flush();
    expect(await serverSubs('shared-failed')).toEqual(before);
  } finally {
    await nc.close();
  }
});
