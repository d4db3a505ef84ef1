// Scheduled, expiring and atomic events from ClientNats: NatsRecordBuilder.setTtl(),
// .delay()/.scheduleAt() through a message schedule, emitBatch(); and the typed error on a
// server that lacks each of them, with nothing sent.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  ClientNats,
  FeatureNotSupportedError,
  JetStreamApiError,
  JetStreamContext,
  JetStreamHandler,
  NatsRecordBuilder,
  connect,
  type BatchPubAck,
  type NatsConnection,
  type PubAck,
  type ScheduledPubAck,
} from '../../lib/index.js';
import {
  describeSince,
  itBefore,
  serverAtLeast,
  startServer,
  type NatsServerHandle,
} from '../support/index.js';
import { sleep, startApp, waitFor, type Started } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let client: ClientNats;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  // A plain stream for the gating tests on every release; the others where the server has them.
  await jsm.streams.add({ name: 'EV_PLAIN', subjects: ['plain.>', '_schedules.plain.>'] });
  if (serverAtLeast('2.11.0'))
    await jsm.streams.add({ name: 'EV_TTL', subjects: ['ttl.>'], allowMsgTtl: true });
  if (serverAtLeast('2.12.0')) {
    await jsm.streams.add({
      name: 'EV_SCHED',
      subjects: ['sched.>', '_schedules.sched.>'],
      allowMsgSchedules: true,
      allowMsgTtl: true,
    });
    await jsm.streams.add({ name: 'EV_BATCH', subjects: ['batch.>'], allowAtomic: true });
  }
  client = new ClientNats({ servers: server.url });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await nc?.close();
  await server?.stop();
});

const emit = <T>(subject: string, record: unknown) =>
  firstValueFrom(client.emit<T>(subject, record));
const messagesIn = async (stream: string) =>
  (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;

describeSince('2.11.0', 'setTtl()', () => {
  it('publishes through JetStream with Nats-TTL; the stream removes the event after it', async () => {
    const record = new NatsRecordBuilder({ n: 1 }).setTtl(1000).build();
    const ack = await emit<PubAck>('ttl.a', record);
    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage('EV_TTL', { seq: ack.seq });
    expect(stored.headers?.get('Nats-TTL')).toBe('1s');
    expect(stored.json()).toEqual({ n: 1 });
    // The server expires in whole seconds on its own timer: within a few seconds.
    const end = Date.now() + 5000;
    let gone = false;
    while (!gone && Date.now() < end) {
      await sleep(200);
      gone = await jsm.streams.getMessage('EV_TTL', { seq: ack.seq }).then(
        () => false,
        (err: unknown) => err instanceof JetStreamApiError,
      );
    }
    expect(gone).toBe(true);
  });

  it('refuses a TTL that is not whole seconds before sending', async () => {
    const before = await messagesIn('EV_TTL');
    const record = new NatsRecordBuilder({ n: 2 }).setTtl(1500).build();
    await expect(emit('ttl.b', record)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(await messagesIn('EV_TTL')).toBe(before);
  });
});

@Controller()
class Delayed {
  static seen: Array<{ data: { n: number }; at: number; seq: number }> = [];
  @JetStreamHandler('sched.order.*', { stream: 'EV_SCHED', durable: 'delayed', ackWait: 5000 })
  handle(@Payload() data: { n: number }, @Ctx() ctx: JetStreamContext) {
    Delayed.seen.push({ data, at: Date.now(), seq: ctx.getMetadata().sequence.stream });
  }
}

describeSince('2.12.0', 'delayed events (delay / scheduleAt)', () => {
  let app: Started;
  beforeAll(async () => {
    app = await startApp(Delayed, { servers: server.url });
  });
  afterAll(async () => {
    await app?.app.close();
  });
  beforeEach(() => (Delayed.seen = []));

  it('arrives no earlier than its time, once, with its headers and TTL', async () => {
    const sent = Date.now();
    const record = new NatsRecordBuilder({ n: 1 })
      .setHeaders({ 'x-trace': 't-1' })
      .setMsgId('delayed-1')
      .setTtl(60_000)
      .delay(1500)
      .build();
    const ack = await emit<ScheduledPubAck>('sched.order.1', record);
    expect(ack.stream).toBe('EV_SCHED');
    expect(ack.schedule).toMatch(/^_schedules\.sched\.order\.1\.[^.]+$/);
    await waitFor(() => Delayed.seen.length > 0, 6000, 'the delayed event');
    expect(Delayed.seen[0].at).toBeGreaterThanOrEqual(sent + 1500);
    expect(Delayed.seen[0].data).toEqual({ n: 1 });
    // Once: nothing more arrives (the server removed the schedule when it fired).
    await sleep(1500);
    expect(Delayed.seen).toHaveLength(1);
    const jsm = await nc.jetstreamManager();
    const fired = await jsm.streams.getMessage('EV_SCHED', { seq: Delayed.seen[0].seq });
    expect({
      trace: fired.headers?.get('x-trace'),
      ttl: fired.headers?.get('Nats-TTL'),
      msgId: fired.headers?.get('Nats-Msg-Id'),
      scheduler: fired.headers?.get('Nats-Scheduler'),
    }).toEqual({ trace: 't-1', ttl: '60s', msgId: undefined, scheduler: ack.schedule });
    await expect(jsm.streams.getMessage('EV_SCHED', { seq: ack.seq })).rejects.toBeInstanceOf(
      JetStreamApiError,
    );
  }, 15_000);

  it('scheduleAt(date) fires at that date; emitting the same id again replaces it', async () => {
    const at = new Date(Date.now() + 1500);
    const first = new NatsRecordBuilder({ n: 1 }).scheduleAt(at, { id: 'reminder' }).build();
    const second = new NatsRecordBuilder({ n: 2 }).scheduleAt(at, { id: 'reminder' }).build();
    const a = await emit<ScheduledPubAck>('sched.order.2', first);
    const b = await emit<ScheduledPubAck>('sched.order.2', second);
    expect(b.schedule).toBe(a.schedule);
    await waitFor(() => Delayed.seen.length > 0, 6000, 'the scheduled event');
    expect(Delayed.seen[0].at).toBeGreaterThanOrEqual(at.getTime());
    await sleep(1000);
    expect(Delayed.seen.map((s) => s.data)).toEqual([{ n: 2 }]);
  }, 15_000);

  it('cancelSchedule() cancels a delayed event that has not fired', async () => {
    const record = new NatsRecordBuilder({ n: 3 }).delay(1500).build();
    const ack = await emit<ScheduledPubAck>('sched.order.3', record);
    await expect(client.cancelSchedule(ack.schedule)).resolves.toBe(true);
    await sleep(2500);
    expect(Delayed.seen).toEqual([]);
    await expect(client.cancelSchedule(ack.schedule)).resolves.toBe(false);
  }, 15_000);

  it('fails when no stream takes the schedule subject (a prefix the stream lacks)', async () => {
    const other = new ClientNats({ servers: server.url, schedulePrefix: 'nowhere' });
    try {
      const record = new NatsRecordBuilder({ n: 4 }).delay(1000).build();
      await expect(firstValueFrom(other.emit('sched.order.4', record))).rejects.toMatchObject({
        code: 'NO_RESPONDERS',
      });
    } finally {
      await other.close();
    }
  });
});

describeSince('2.12.0', 'emitBatch()', () => {
  it('a batch with a failing expectation stores nothing', async () => {
    const before = await messagesIn('EV_BATCH');
    const events = [
      { pattern: 'batch.a', data: { n: 1 } },
      { pattern: 'batch.b', data: new NatsRecordBuilder({ n: 2 }).setMsgId('b-2').build() },
      {
        pattern: 'batch.c',
        data: new NatsRecordBuilder({ n: 3 }).setJetStream({ expectStream: 'WRONG' }).build(),
      },
    ];
    await expect(client.emitBatch(events)).rejects.toBeInstanceOf(JetStreamApiError);
    expect(await messagesIn('EV_BATCH')).toBe(before);
  });

  it('1,000 events commit as one batch; the PubAck has batch and count', async () => {
    const before = await messagesIn('EV_BATCH');
    const events = Array.from({ length: 1000 }, (_, i) => ({
      pattern: `batch.many.${i % 10}`,
      data: i === 0 ? new NatsRecordBuilder({ i }).setHeaders({ 'x-first': '1' }).build() : { i },
    }));
    const ack: BatchPubAck = await client.emitBatch(events);
    expect(ack.count).toBe(1000);
    expect(typeof ack.batch).toBe('string');
    expect(await messagesIn('EV_BATCH')).toBe(before + 1000);
    const jsm = await nc.jetstreamManager();
    const first = await jsm.streams.getMessage('EV_BATCH', { seq: ack.seq - 999 });
    expect([first.json(), first.headers?.get('x-first')]).toEqual([{ i: 0 }, '1']);
    expect((await jsm.streams.getMessage('EV_BATCH', { seq: ack.seq })).json()).toEqual({
      i: 999,
    });
  });

  it('refuses 1,001 events, a delayed event and an empty batch before sending', async () => {
    const before = await messagesIn('EV_BATCH');
    const many = Array.from({ length: 1001 }, (_, i) => ({ pattern: 'batch.x', data: i }));
    await expect(client.emitBatch(many)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const delayed = new NatsRecordBuilder(1).delay(1000).build();
    await expect(client.emitBatch([{ pattern: 'batch.x', data: delayed }])).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(client.emitBatch([])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(await messagesIn('EV_BATCH')).toBe(before);
  });
});

describe('on a server without the feature: FeatureNotSupportedError, nothing sent', () => {
  const refused = async (what: Promise<unknown>, minVersion: string) => {
    const err: unknown = await what.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toMatchObject({ code: 'FEATURE_NOT_SUPPORTED', minVersion });
  };

  itBefore('2.11.0', 'setTtl()', async () => {
    await refused(emit('plain.ttl', new NatsRecordBuilder(1).setTtl(5000).build()), '2.11.0');
    expect(await messagesIn('EV_PLAIN')).toBe(0);
  });

  itBefore('2.12.0', 'delay() and scheduleAt()', async () => {
    await refused(emit('plain.later', new NatsRecordBuilder(1).delay(1000).build()), '2.12.0');
    const at = new Date(Date.now() + 1000);
    await refused(emit('plain.at', new NatsRecordBuilder(1).scheduleAt(at).build()), '2.12.0');
    expect(await messagesIn('EV_PLAIN')).toBe(0);
  });

  itBefore('2.12.0', 'emitBatch()', async () => {
    const events = [
      { pattern: 'plain.b1', data: 1 },
      { pattern: 'plain.b2', data: 2 },
    ];
    await refused(client.emitBatch(events), '2.12.0');
    expect(await messagesIn('EV_PLAIN')).toBe(0);
  });
});
