import type { INestMicroservice } from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import {
  ClientNats,
  NatsRecordBuilder,
  NoRespondersError,
  ServiceError,
  TimeoutError,
  connect,
  type NatsConnection,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { seen, startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;
let app: INestMicroservice;
let client: ClientNats;

beforeAll(async () => {
  server = await startServer();
  app = await startCalcApp('a', { servers: server.url, queue: 'calc' });
  client = new ClientNats({ servers: server.url, timeout: 1000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await app?.close();
  await server?.stop();
});

describe('ServerNats + ClientNats request-reply', () => {
  it('answers a request with the handler value', async () => {
    await expect(firstValueFrom(client.send('calc.sum', [1, 2, 3]))).resolves.toBe(6);
  });

  it('waits for async handlers', async () => {
    await expect(firstValueFrom(client.send('calc.slow', 20))).resolves.toBe('slept 20');
  });

  it('streams every value of an Observable and completes', async () => {
    const values = await lastValueFrom(client.send('calc.count', 4).pipe(toArray()));
    expect(values).toEqual([0, 1, 2, 3]);
  });

  it('completes without a value for an empty Observable', async () => {
    const values = await lastValueFrom(client.send('calc.empty', {}).pipe(toArray()));
    expect(values).toEqual([]);
  });

  it('runs interceptors', async () => {
    await expect(firstValueFrom(client.send('calc.shout', 'hi'))).resolves.toBe('HI');
  });

  it('runs guards: a request without the token is refused, one with it is served', async () => {
    const denied = await firstValueFrom(client.send('calc.guarded', {})).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ServiceError);
    expect((denied as ServiceError).description).toBe('Forbidden resource');
    const record = new NatsRecordBuilder({}).setHeaders({ 'x-token': 'secret' }).build();
    await expect(firstValueFrom(client.send('calc.guarded', record))).resolves.toBe('welcome');
  });

  it('runs pipes and returns their validation error as a 400 through NatsExceptionFilter', async () => {
    await expect(firstValueFrom(client.send('calc.double', '21'))).resolves.toBe(42);
    const err = await firstValueFrom(client.send('calc.double', 'abc')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(400);
    expect((err as ServiceError).description).toMatch(/numeric string is expected/);
  });

  it('delivers an RpcException object with its code and fields', async () => {
    const err = await firstValueFrom(client.send('calc.fail', 'rpc')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    const se = err as ServiceError & { details: Record<string, unknown> };
    expect(se.code).toBe('SERVICE_ERROR');
    expect(se.serviceCode).toBe(422);
    expect(se.description).toBe('bad input');
    expect(se.details).toEqual({ statusCode: 422, message: 'bad input', field: 'x' });
  });

  it('delivers string RpcExceptions and errors from Observables', async () => {
    const e1 = (await firstValueFrom(client.send('calc.fail', 'string')).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(e1.description).toBe('plain message');
    expect(e1.serviceCode).toBe(500);
    const e2 = (await firstValueFrom(client.send('calc.fail', 'observable')).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(e2.serviceCode).toBe(409);
  });

  it('hides the message of unexpected errors behind Nest’s exception filter', async () => {
    const err = (await firstValueFrom(client.send('calc.fail', 'error')).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.serviceCode).toBe(500);
    expect(err.description).toBe('Internal server error');
  });

  it('answers a result that cannot be encoded as JSON with an error reply, not a timeout', async () => {
    const t0 = Date.now();
    const err = (await firstValueFrom(client.send('calc.unserializable', 'value')).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.serviceCode).toBe(500);
    expect(err.description).toMatch(/BigInt/);
    // A stream sends what it could encode, then the error.
    const got: unknown[] = [];
    const streamErr = await new Promise<unknown>((resolve) =>
      client.send('calc.unserializable', 'stream').subscribe({
        next: (v) => got.push(v),
        error: resolve,
        complete: () => resolve(undefined),
      }),
    );
    expect(got).toEqual([1]);
    expect(streamErr).toBeInstanceOf(ServiceError);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The app keeps serving.
    expect(await firstValueFrom(client.send('calc.sum', [1, 2]))).toBe(3);
  });

  it('carries headers both ways', async () => {
    const record = new NatsRecordBuilder({}).setHeaders({ 'x-request-id': 'r-42' }).build();
    const reply = await firstValueFrom(client.send('calc.echo-headers', record));
    expect(reply).toEqual({ subject: 'calc.echo-headers' });
    const nc = client.unwrap<NatsConnection>();
    const raw = await nc.request('calc.echo-headers', '{}', {
      headers: { 'x-request-id': 'r-43' },
    });
    expect(raw.headers?.get('x-request-id')).toBe('r-43');
    expect(raw.headers?.get('x-app')).toBe('a');
  });

  it('routes wildcard patterns and exposes the concrete subject', async () => {
    await expect(firstValueFrom(client.send('calc.wild.abc', 5))).resolves.toEqual({
      subject: 'calc.wild.abc',
      data: 5,
    });
  });

  it('fails with TimeoutError when the handler is too slow', async () => {
    const err = await firstValueFrom(client.send('calc.slow', 1500)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).code).toBe('TIMEOUT');
  });

  it('fails fast with NoRespondersError when nobody listens', async () => {
    const start = Date.now();
    const err = await firstValueFrom(client.send('calc.nobody', 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRespondersError);
    expect(Date.now() - start).toBeLessThan(500);
  });
});

describe('interoperability', () => {
  it('answers a plain core request with plain JSON', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const msg = await nc.request('calc.sum', JSON.stringify([4, 5]));
      expect(msg.json()).toBe(9);
      const err = await nc.request('calc.fail', '"rpc"').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceError);
      expect((err as ServiceError).serviceCode).toBe(422);
    } finally {
      await nc.close();
    }
  });

  it("answers Nest's built-in NATS client in its own envelope", async () => {
    const builtin: ClientProxy = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [server.url] },
    });
    try {
      await builtin.connect();
      await expect(firstValueFrom(builtin.send('calc.sum', [10, 20]))).resolves.toBe(30);
      const streamed = await lastValueFrom(builtin.send('calc.count', 3).pipe(toArray()));
      expect(streamed).toEqual([0, 1, 2]);
      const err: unknown = await firstValueFrom(builtin.send('calc.fail', 'rpc')).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ statusCode: 422, message: 'bad input' });
      await firstValueFrom(builtin.emit('calc.events.builtin', { from: 'builtin' }), {
        defaultValue: undefined,
      });
      await waitFor(() => seen.events.some((e) => e.subject === 'calc.events.builtin'));
      expect(seen.events.find((e) => e.subject === 'calc.events.builtin')?.data).toEqual({
        from: 'builtin',
      });
    } finally {
      await builtin.close();
    }
  });
});

describe('events', () => {
  it('delivers emitted events to the wildcard handler', async () => {
    await firstValueFrom(client.emit('calc.events.one', { n: 1 }), { defaultValue: undefined });
    await waitFor(() => seen.events.some((e) => e.subject === 'calc.events.one'));
    expect(seen.events.find((e) => e.subject === 'calc.events.one')?.data).toEqual({ n: 1 });
  });

  it('survives a failing event handler without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      await firstValueFrom(client.emit('calc.bad-event', {}), { defaultValue: undefined });
      await firstValueFrom(client.emit('calc.events.after', {}), { defaultValue: undefined });
      await waitFor(() => seen.events.some((e) => e.subject === 'calc.events.after'));
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      await expect(firstValueFrom(client.send('calc.sum', [1]))).resolves.toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

async function waitFor(cond: () => boolean, timeout = 2000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
