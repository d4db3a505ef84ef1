// ServerNats and ClientNats with `servers: 'ws://…'` / 'wss://…': request-reply, an event and a
// @JetStreamHandler, against a nats-server WebSocket listener, plain and with TLS.
import 'reflect-metadata';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  ClientNats,
  JetStreamContext,
  JetStreamHandler,
  NatsContext,
  NatsRecordBuilder,
  type ConnectOptions,
  type PubAck,
  type ServerNats,
  type SettledEvent,
} from '../../lib/index.js';
import {
  type NatsServerHandle,
  startServer,
  stopAllServers,
  tlsFixtures,
} from '../support/index.js';
import { startApp } from './apps/jetstream-faults.helpers.js';

afterAll(stopAllServers);

const seen = {
  events: [] as string[],
  jobs: [] as Array<{ id: string; subject: string; stream: string }>,
};

@Controller()
class WsController {
  @MessagePattern('ws.sum')
  sum(@Payload() nums: number[]): number {
    return nums.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('ws.where')
  where(@Ctx() ctx: NatsContext): string {
    return ctx.getSubject();
  }

  @EventPattern<string>('ws.events.*')
  onEvent(@Payload() data: { n: number }, @Ctx() ctx: NatsContext): void {
    seen.events.push(`${ctx.getSubject()}:${data.n}`);
  }

  @JetStreamHandler('wsjobs.>', { stream: 'WSJOBS', durable: 'ws-worker' })
  job(@Payload() job: { id: string }, @Ctx() ctx: JetStreamContext): void {
    seen.jobs.push({ id: job.id, subject: ctx.getSubject(), stream: ctx.getMetadata().stream });
  }
}

async function waitFor(cond: () => boolean, what: string, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not met in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each([
  { name: 'ws://', tls: false },
  { name: 'wss://', tls: true },
])('Nest over $name', ({ tls }) => {
  let server: NatsServerHandle;
  let conn: ConnectOptions;
  let app: INestMicroservice;
  let strategy: ServerNats;
  let client: ClientNats;
  const settled: SettledEvent[] = [];

  beforeAll(async () => {
    server = await startServer({ jetstream: true, websocket: { tls } });
    const tlsOpts = tls ? { tls: { caFile: (await tlsFixtures()).caFile } } : {};
    conn = { servers: server.wsUrl!, ...tlsOpts };
    ({ app, strategy } = await startApp(
      WsController,
      { ...conn, streams: [{ name: 'WSJOBS', subjects: ['wsjobs.>'], storage: 'memory' }] },
      settled,
    ));
    client = new ClientNats({ ...conn, timeout: 3000 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('both sides connect over the WebSocket listener', async () => {
    const nc = await client.connect();
    expect(nc.connectedUrl).toBe(server.wsUrl);
    expect(strategy.unwrap().connectedUrl).toBe(server.wsUrl);
  });

  it('answers requests', async () => {
    await expect(firstValueFrom(client.send('ws.sum', [2, 3, 4]))).resolves.toBe(9);
    await expect(firstValueFrom(client.send('ws.where', {}))).resolves.toBe('ws.where');
  });

  it('delivers an event to its @EventPattern handler', async () => {
    seen.events.length = 0;
    await firstValueFrom(client.emit('ws.events.one', { n: 1 }), { defaultValue: undefined });
    await waitFor(() => seen.events.length === 1, 'the event');
    expect(seen.events).toEqual(['ws.events.one:1']);
  });

  it('runs a @JetStreamHandler for a JetStream event emitted over the WebSocket, and acks it', async () => {
    const id = `job-${tls ? 'wss' : 'ws'}`;
    const record = new NatsRecordBuilder({ id }).setJetStream({ msgId: id }).build();
    const ack = await firstValueFrom(client.emit<PubAck>(`wsjobs.${id}`, record));
    expect(ack.stream).toBe('WSJOBS');
    await waitFor(() => settled.some((e) => e.streamSeq === ack.seq), 'the settled event');
    expect(seen.jobs.filter((j) => j.id === id)).toEqual([
      { id, subject: `wsjobs.${id}`, stream: 'WSJOBS' },
    ]);
    expect(settled.filter((e) => e.streamSeq === ack.seq).map((e) => e.outcome)).toEqual(['ack']);
  });
});
