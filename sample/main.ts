import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { firstValueFrom, toArray } from 'rxjs';
import { ClientNats, NatsRecordBuilder, ServerNats, type ServiceError } from '../lib/index.js';
import { OrdersModule } from './orders/orders.module.js';
import { startPrivateServer, type PrivateServer } from './private-server.js';

/**
 * Runs the orders microservice against NATS_URL, or a private nats-server when it is not set,
 * drives it with ClientNats and prints what happened.
 */
async function main(): Promise<void> {
  let server: PrivateServer | undefined;
  const url = process.env.NATS_URL ?? (server = await startPrivateServer()).url;
  console.log(`NATS at ${url}${server ? ' (private nats-server)' : ''}`);

  const app = await NestFactory.createMicroservice<MicroserviceOptions>(OrdersModule, {
    strategy: new ServerNats({ servers: url, queue: 'orders', name: 'orders-service' }),
    logger: ['error', 'warn', 'log'],
  });
  await app.listen();

  const client = new ClientNats({ servers: url, timeout: 2000 });
  await client.connect();
  try {
    const created = await firstValueFrom(
      client.send(
        'orders.create',
        new NatsRecordBuilder({ item: 'book', qty: 2 }).setHeaders({ 'x-trace-id': 't-1' }).build(),
      ),
    );
    console.log('created      ->', created);
    await firstValueFrom(client.send('orders.create', { item: 'pen', qty: 10 }));

    console.log('get 1        ->', await firstValueFrom(client.send('orders.get', '1')));
    try {
      await firstValueFrom(client.send('orders.get', '99'));
    } catch (err) {
      const e = err as ServiceError;
      console.log(`get 99       -> error ${e.serviceCode}: ${e.description}`);
    }

    const all = await firstValueFrom(client.send('orders.list', {}).pipe(toArray()));
    console.log(
      `list         -> ${all.length} streamed replies:`,
      all.map((o: { id: string }) => o.id).join(', '),
    );

    await firstValueFrom(client.emit('orders.1.shipped', { id: '1' }), { defaultValue: undefined });
    await new Promise((r) => setTimeout(r, 100));
    console.log('after event  ->', await firstValueFrom(client.send('orders.get', '1')));
  } finally {
    await client.close();
    await app.close();
    await server?.stop();
  }
  console.log('sample finished');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('sample failed:', err);
    process.exit(1);
  },
);
