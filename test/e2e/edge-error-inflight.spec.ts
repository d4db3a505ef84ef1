// Error replies that cannot be encoded must still answer the caller and release the in-flight
// count.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, RpcException, type MicroserviceOptions } from '@nestjs/microservices';
import { ServerNats, connect, type NatsConnection } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';

@Controller()
class LeakController {
  @MessagePattern('leak.bigint')
  bigint(): unknown {
    throw new RpcException({ statusCode: 400, message: 'has bigint', id: 10n });
  }

  @MessagePattern('leak.ok')
  ok(): string {
    return 'ok';
  }
}

@Module({ controllers: [LeakController] })
class LeakModule {}

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

it('an error reply that cannot be encoded does not leave the request counted in flight (app.close() is prompt)', async () => {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(LeakModule, {
    strategy: new ServerNats({ servers: server.url, gracefulShutdownTimeout: 4000 }),
    logger: false,
  });
  await app.listen();
  const reply = await nc.request('leak.bigint', '', { timeout: 500 }).catch((e: unknown) => e);
  const okReply = (await nc.request('leak.ok', '')).json();
  const t0 = Date.now();
  await app.close();
  const closeMs = Date.now() - t0;
  // Expected: an error reply (not a timeout), the app keeps serving, close() does not wait out
  // gracefulShutdownTimeout for a request that already finished.
  expect({
    replyCode: (reply as { code?: string }).code,
    okReply,
    closePrompt: closeMs < 1000,
  }).toEqual({
    replyCode: 'SERVICE_ERROR',
    okReply: 'ok',
    closePrompt: true,
  });
}, 10_000);
