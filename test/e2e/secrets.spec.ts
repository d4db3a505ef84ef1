// Secrets and auth failures through the Nest layer.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, type MicroserviceOptions } from '@nestjs/microservices';
import { inspect } from 'node:util';
import { AuthorizationError, ClientNats, ServerNats } from '../../lib/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

afterAll(stopAllServers);

const PASS = 'S3CRET-nest-pass';
let server: NatsServerHandle;
beforeAll(async () => {
  server = await startServer({ user: 'nest', pass: PASS, monitor: true });
});

@Controller()
class C {
  @MessagePattern('nest.echo')
  echo(data: unknown): unknown {
    return data;
  }
}
@Module({ controllers: [C] })
class M {}

it('app.listen() rejects with AuthorizationError on bad credentials, leaves no connection, leaks nothing', async () => {
  const strategy = new ServerNats({
    servers: server.url,
    user: 'nest',
    pass: 'WRONG-S3CRET',
    name: 'audit-auth',
  });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy,
    logger: false,
  });
  const err = await app.listen().then(
    () => undefined,
    (e: unknown) => e,
  );
  await app.close().catch(() => undefined);
  expect(err).toBeInstanceOf(AuthorizationError);
  expect(inspect(err, { depth: 10 })).not.toContain('S3CRET');
  const connz = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as {
    connections?: Array<{ name?: string }>;
  };
  expect((connz.connections ?? []).map((c) => c.name)).not.toContain('audit-auth');
});

it('does not reveal the password when the transport objects are logged', async () => {
  const strategy = new ServerNats({ servers: server.url, user: 'nest', pass: PASS });
  const client = new ClientNats({ servers: `nats://nest:${PASS}@127.0.0.1:${server.port}` });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, {
    strategy,
    logger: false,
  });
  await app.listen();
  try {
    await client.connect();
    const logged = {
      server: inspect(strategy, { depth: 4 }),
      client: inspect(client, { depth: 4 }),
    };
    expect({
      server: logged.server.includes(PASS),
      client: logged.client.includes(PASS),
    }).toEqual({ server: false, client: false });
  } finally {
    await client.close();
    await app.close();
  }
});
