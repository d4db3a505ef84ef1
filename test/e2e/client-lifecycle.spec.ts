// ClientNats: lazy connect racing close(), a connection that gave up, streams cut short.
import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import { firstValueFrom, interval, lastValueFrom, map, take, toArray } from 'rxjs';
import {
  ClientNats,
  NatsRecordBuilder,
  NoRespondersError,
  ServerNats,
  TimeoutError,
  connect,
  type NatsConnection,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';

const streamEmitted = { count: 0 };

@Controller()
class ClientProbeController {
  @MessagePattern('c.echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('c.slow')
  async slow(@Payload() ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return `slept ${ms}`;
  }

  @MessagePattern('c.stream')
  stream(@Payload() n: number) {
    return interval(10).pipe(
      take(n),
      map((i) => {
        streamEmitted.count++;
        return i;
      }),
    );
  }
}

@Module({ controllers: [ClientProbeController] })
class ClientProbeModule {}

let server: NatsServerHandle;
let app: INestMicroservice;
const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startServer({ jetstream: true, monitor: true });
  app = await NestFactory.createMicroservice<MicroserviceOptions>(ClientProbeModule, {
    strategy: new ServerNats({ servers: server.url }),
    logger: false,
  });
  await app.listen();
});

afterAll(async () => {
  await app?.close();
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
});

beforeEach(() => {
  unhandled.length = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connections(name: string): Promise<number> {
  const res = await fetch(`${server.monitorUrl}/connz?limit=1024`);
  const body = (await res.json()) as { connections: Array<{ name?: string }> };
  return body.connections.filter((c) => c.name === name).length;
}

describe('ClientNats lifecycle', () => {
  it('connects lazily on send() and serves 50 concurrent first sends over one connection', async () => {
    const client = new ClientNats({ servers: server.url, name: 'lazy-50', timeout: 2000 });
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => firstValueFrom(client.send('c.echo', i))),
      );
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(await connections('lazy-50')).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('close() while the lazy connect is in flight fails the pending send and leaves no connection open', async () => {
    const client = new ClientNats({
      servers: server.url,
      name: 'close-while-connecting',
      timeout: 3000,
    });
    try {
      const t0 = Date.now();
      const pending = firstValueFrom(client.send('c.slow', 300)).then(
        (v) => ({ resolved: v, after: Date.now() - t0 }),
        (e: unknown) => ({
          rejected: String(e),
          code: (e as { code?: string }).code,
          after: Date.now() - t0,
        }),
      );
      // The send is waiting for connect(); close now.
      await client.close();
      const outcome = await pending;
      await sleep(200);
      const open = await connections('close-while-connecting');
      // Expected: the send fails (closed) quickly, and the connection opened by the lazy connect
      // does not outlive close().
      expect({ open, outcome }).toEqual({
        open: 0,
        outcome: {
          rejected: expect.any(String),
          code: 'CONNECTION_CLOSED',
          after: expect.any(Number),
        },
      });
    } finally {
      await client.close(); // clean up whatever leaked
    }
  });

  it('send() after close() reconnects lazily', async () => {
    const client = new ClientNats({ servers: server.url, timeout: 2000 });
    try {
      await client.connect();
      await expect(firstValueFrom(client.send('c.echo', 'a'))).resolves.toBe('a');
      await client.close();
      await expect(firstValueFrom(client.send('c.echo', 'b'))).resolves.toBe('b');
    } finally {
      await client.close();
    }
  });

  it('close() with a pending streamed send fails it with CONNECTION_CLOSED, no hang', async () => {
    const client = new ClientNats({ servers: server.url, timeout: 3000 });
    await client.connect();
    const got: unknown[] = [];
    const ended = new Promise<unknown>((resolve) =>
      client.send('c.stream', 100).subscribe({
        next: (v) => got.push(v),
        error: resolve,
        complete: () => resolve('completed'),
      }),
    );
    await sleep(80);
    await client.close();
    const err = (await ended) as { code?: string };
    expect(err.code).toBe('CONNECTION_CLOSED');
    expect(got.length).toBeGreaterThan(0);
    await sleep(200);
    expect(unhandled).toEqual([]);
  });

  it('take(1) of a streamed reply unsubscribes cleanly; later replies are ignored', async () => {
    const client = new ClientNats({ servers: server.url, timeout: 1000 });
    try {
      await client.connect();
      const first = await firstValueFrom(client.send('c.stream', 20).pipe(take(1)));
      expect(first).toBe(0);
      const all = await lastValueFrom(client.send('c.stream', 3).pipe(toArray()));
      expect(all).toEqual([0, 1, 2]);
      await sleep(400); // the rest of the first stream arrives and is dropped
      expect(unhandled).toEqual([]);
      await expect(firstValueFrom(client.send('c.echo', 'ok'))).resolves.toBe('ok');
    } finally {
      await client.close();
    }
  });

  it('send() with no responder fails fast with NoRespondersError before connect too', async () => {
    const client = new ClientNats({ servers: server.url, timeout: 3000 });
    try {
      const t0 = Date.now();
      const err = await firstValueFrom(client.send('c.nobody', 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoRespondersError);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await client.close();
    }
  });

  it('honours the timeout option', async () => {
    const client = new ClientNats({ servers: server.url, timeout: 200 });
    try {
      const t0 = Date.now();
      const err = await firstValueFrom(client.send('c.slow', 1000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(Date.now() - t0).toBeLessThan(700);
    } finally {
      await client.close();
    }
  });

  it('send() recovers after its connection gave up (closed), as emit() does', async () => {
    const other = await startServer();
    const client = new ClientNats({ servers: other.url, timeout: 1000, reconnect: false });
    let responder: NatsConnection | undefined;
    try {
      const nc = await client.connect();
      await other.restart();
      const end = Date.now() + 3000;
      while (!nc.isClosed && Date.now() < end) await sleep(20);
      expect(nc.isClosed).toBe(true);
      responder = await connect({ servers: other.url });
      responder.subscribe('r.echo', { callback: (m) => m.respond(m.data) });
      await responder.flush();
      const res = await firstValueFrom(client.send('r.echo', 2)).catch((e: unknown) => e);
      expect(res).toBe(2);
    } finally {
      await responder?.close();
      await client.close();
      await other.stop();
    }
  });

  it('emit() recovers after its connection gave up (closed) [contrast]', async () => {
    const other = await startServer();
    const client = new ClientNats({ servers: other.url, timeout: 1000, reconnect: false });
    let listener: NatsConnection | undefined;
    try {
      const nc = await client.connect();
      await other.restart();
      const end = Date.now() + 3000;
      while (!nc.isClosed && Date.now() < end) await sleep(20);
      listener = await connect({ servers: other.url });
      const sub = listener.subscribe('r.evt', { max: 1 });
      await listener.flush();
      await firstValueFrom(client.emit('r.evt', 5), { defaultValue: undefined });
      expect((await sub.nextMsg(1000)).json()).toBe(5);
    } finally {
      await listener?.close();
      await client.close();
      await other.stop();
    }
  });
});

describe('ClientNats.emit() through JetStream', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'AUDIT_EMIT', subjects: ['audit.emit.>'], storage: 'memory' });
  });
  afterAll(async () => {
    await nc?.close();
  });

  it('yields the PubAck and deduplicates by msgId', async () => {
    const client = new ClientNats({ servers: server.url });
    try {
      const rec = new NatsRecordBuilder({ a: 1 }).setMsgId('dup-1').build();
      const a1 = await firstValueFrom(
        client.emit<{ seq: number; duplicate: boolean }>('audit.emit.1', rec),
      );
      const a2 = await firstValueFrom(
        client.emit<{ seq: number; duplicate: boolean }>('audit.emit.1', rec),
      );
      expect(a1).toMatchObject({ stream: 'AUDIT_EMIT', duplicate: false });
      expect(a2).toMatchObject({ stream: 'AUDIT_EMIT', seq: a1.seq, duplicate: true });
    } finally {
      await client.close();
    }
  });

  it('fails clearly when no stream matches the subject (connected and not yet connected)', async () => {
    const client = new ClientNats({ servers: server.url });
    try {
      const rec = new NatsRecordBuilder({ a: 1 }).setMsgId('x').build();
      const t0 = Date.now();
      const e1 = await firstValueFrom(client.emit('no.stream.here', rec)).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(NoRespondersError);
      expect(String((e1 as Error).message)).toMatch(/no stream/);
      await client.connect();
      const e2 = await firstValueFrom(client.emit('no.stream.here', rec)).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(NoRespondersError);
      expect(Date.now() - t0).toBeLessThan(3000);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('does not produce an unhandled rejection when nobody subscribes to a failing JetStream emit', async () => {
    const client = new ClientNats({ servers: server.url });
    try {
      await client.connect();
      const rec = new NatsRecordBuilder({ a: 1 }).setMsgId('y').build();
      client.emit('no.stream.either', rec); // fire and forget
      await sleep(1200);
      expect(unhandled).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('emits a core event with and without headers (fire and forget works without subscribing)', async () => {
    const client = new ClientNats({ servers: server.url, headers: { 'x-app': 'audit' } });
    const sub = nc.subscribe('audit.core.evt', { max: 2 });
    await nc.flush();
    try {
      await client.connect();
      client.emit('audit.core.evt', { n: 1 });
      client.emit(
        'audit.core.evt',
        new NatsRecordBuilder({ n: 2 }).setHeaders({ 'x-id': '2' }).build(),
      );
      const m1 = await sub.nextMsg(1000);
      const m2 = await sub.nextMsg(1000);
      expect(m1.json()).toEqual({ n: 1 });
      expect(m1.headers?.get('x-app')).toBe('audit');
      expect(m2.json()).toEqual({ n: 2 });
      expect(m2.headers?.get('x-id')).toBe('2');
      expect(m2.headers?.get('x-app')).toBe('audit');
    } finally {
      await client.close();
    }
  });
});
