import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { firstValueFrom, toArray } from 'rxjs';
import {
  ClientNats,
  FeatureNotSupportedError,
  NatsRecordBuilder,
  type NatsRecord,
  ServerNats,
  type PubAck,
  type ScheduledPubAck,
  type ServiceError,
  type SettledEvent,
  type StreamConfig,
} from '../lib/index.js';
import { LedgerController, RemindersController } from './orders/modern.controllers.js';
import { OrdersModule } from './orders/orders.module.js';
import type { Order } from './orders/orders.service.js';
import { startPrivateServer, type PrivateServer } from './private-server.js';

/**
 * Runs the orders microservice against NATS_URL, or a private nats-server when it is not set,
 * drives it with ClientNats and prints what happened.
 */
async function main(): Promise<void> {
  let server: PrivateServer | undefined;
  const url = process.env.NATS_URL ?? (server = await startPrivateServer()).url;
  console.log(`NATS at ${url}${server ? ` (private nats-server ${server.version})` : ''}`);

  // The client connects first: the server's release decides which newer features are shown.
  const client = new ClientNats({ servers: url, timeout: 2000 });
  const version = (await client.connect()).info.version ?? '0.0.0';
  const features = { exclusive: atLeast(version, 2, 11), delayed: atLeast(version, 2, 12) };
  const streams: StreamConfig[] = [
    { name: 'ORDERS', subjects: ['orders.paid.*'], storage: 'file' },
  ];
  if (features.exclusive) streams.push({ name: 'LEDGER', subjects: ['ledger.*'] });
  // A delayed event waits on `_schedules.<subject>.<id>`, which its stream must take too.
  if (features.delayed)
    streams.push({
      name: 'REMINDERS',
      subjects: ['orders.reminder.*', '_schedules.orders.reminder.>'],
      allowMsgSchedules: true,
    });
  const strategy = new ServerNats({
    servers: url,
    queue: 'orders',
    name: 'orders-service',
    streams,
  });
  const settled: SettledEvent[] = [];
  strategy.on('settled', (e) => settled.push(e));
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    OrdersModule.forRoot(url, features),
    { strategy, logger: ['error', 'log'] },
  );
  await app.listen();

  try {
    // replyAsRecord(): the reply comes back as a NatsRecord, so its headers can be read.
    const created = await firstValueFrom(
      client.send<NatsRecord<Order>>(
        'orders.create',
        new NatsRecordBuilder({ item: 'book', qty: 2 })
          .setHeaders({ 'x-trace-id': 't-1' })
          .replyAsRecord()
          .build(),
      ),
    );
    console.log(
      'created      ->',
      created.data,
      `(reply header x-trace-id: ${created.headers?.get('x-trace-id')})`,
    );
    await firstValueFrom(client.send('orders.create', { item: 'pen', qty: 10 }));

    console.log('get 1        ->', await firstValueFrom(client.send('orders.get', '1')));
    console.log(
      'price of pen ->',
      await firstValueFrom(client.send('catalog.price', 'pen')),
      '(from the KV catalog)',
    );
    try {
      await firstValueFrom(client.send('orders.create', { item: 'lamp', qty: 1 }));
    } catch (err) {
      const e = err as ServiceError;
      console.log(`create lamp  -> error ${e.serviceCode}: ${e.description}`);
    }
    try {
      await firstValueFrom(client.send('orders.get', '99'));
    } catch (err) {
      const e = err as ServiceError;
      console.log(`get 99       -> error ${e.serviceCode}: ${e.description}`);
    }

    const all = await firstValueFrom(
      client.send<{ id: string }>('orders.list', {}).pipe(toArray()),
    );
    console.log(`list         -> ${all.length} streamed replies:`, all.map((o) => o.id).join(', '));

    await firstValueFrom(client.emit('orders.1.shipped', { id: '1' }), { defaultValue: undefined });
    await new Promise((r) => setTimeout(r, 100));
    console.log('after event  ->', await firstValueFrom(client.send('orders.get', '1')));

    // JetStream: durable, acknowledged processing. emit() of a JetStream record yields the PubAck.
    for (const [orderId, amount] of [
      ['1', 30],
      ['2', 12],
      ['3', -5],
    ] as const) {
      const record = new NatsRecordBuilder({ orderId, amount }).setMsgId(`paid-${orderId}`).build();
      const ack = await firstValueFrom(client.emit<PubAck>(`orders.paid.${orderId}`, record));
      console.log(`paid ${orderId}       -> stored in ${ack.stream} at seq ${ack.seq}`);
    }
    await until(
      () => settled.filter((e) => e.outcome === 'ack' || e.outcome === 'term').length === 3,
    );
    for (const e of settled) {
      const why = e.error?.message ?? '';
      const detail =
        e.outcome === 'nak' ? ` (${why}; retry in ${e.delay} ms)` : why ? ` (${why})` : '';
      console.log(`billing      -> ${e.subject} delivery ${e.numDelivered}: ${e.outcome}${detail}`);
    }

    // Newer servers: an exclusive handler (2.11+) and a delayed event (2.12+).
    if (features.exclusive) {
      for (const n of [1, 2, 3]) {
        const entry = new NatsRecordBuilder({ n }).setMsgId(`ledger-${n}`).build();
        await firstValueFrom(client.emit<PubAck>(`ledger.${n}`, entry));
      }
      await until(() => LedgerController.entries.length === 3);
      console.log(
        `exclusive    -> ledger entries ${LedgerController.entries.join(', ')} booked in order by the one pinned instance`,
      );
    } else {
      console.log(
        `exclusive    -> not shown: exclusive handlers need nats-server 2.11.0 or newer (running ${version})`,
      );
    }
    const sent = Date.now();
    try {
      const reminder = new NatsRecordBuilder({ orderId: '1' }).delay(1000).build();
      const ack = await firstValueFrom(client.emit<ScheduledPubAck>('orders.reminder.1', reminder));
      console.log(`delayed      -> reminder stored as a schedule on ${ack.schedule}`);
      await until(() => RemindersController.received.length === 1);
      const waited = RemindersController.received[0].at - sent;
      console.log(`delayed      -> reminder for order 1 delivered ${waited} ms later`);
    } catch (err) {
      if (!(err instanceof FeatureNotSupportedError)) throw err;
      console.log(`delayed      -> not shown: ${err.message}`);
    }
  } finally {
    await client.close();
    await app.close();
    await server?.stop();
  }
  console.log('sample finished');
}

/** True when `version` ('2.12.15') is at least major.minor. */
function atLeast(version: string, major: number, minor: number): boolean {
  const [ma, mi] = version.split('.').map(Number);
  return ma > major || (ma === major && mi >= minor);
}

async function until(cond: () => boolean, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the JetStream consumer');
    await new Promise((r) => setTimeout(r, 20));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('sample failed:', err);
    process.exit(1);
  },
);
