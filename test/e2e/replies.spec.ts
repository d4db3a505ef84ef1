// Replies: falsy values, too-large replies, unencodable errors, odd payloads, chained
// event handlers.
import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ctx,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  Payload,
  RpcException,
} from '@nestjs/microservices';
import { concat, EMPTY, firstValueFrom, lastValueFrom, of, throwError, toArray } from 'rxjs';
import {
  ClientNats,
  connect,
  type NatsConnection,
  NatsContext,
  ServerNats,
  ServiceError,
  TimeoutError,
} from '../../lib/index.js';
import { type NatsServerHandle, startServer } from '../support/index.js';

const MAX_PAYLOAD = 8192;

const hits = {
  twinA: 0,
  twinB: 0,
  afterThrow: 0,
  echoSeen: [] as unknown[],
};

@Controller()
class ProbeController {
  @MessagePattern('p.value')
  value(@Payload() kind: string): unknown {
    switch (kind) {
      case 'undefined':
        return undefined;
      case 'null':
        return null;
      case 'zero':
        return 0;
      case 'empty':
        return '';
      case 'false':
        return false;
      default:
        return 'other';
    }
  }

  @MessagePattern('p.reject')
  reject(@Payload() kind: string): Promise<unknown> {
    /* eslint-disable @typescript-eslint/prefer-promise-reject-errors -- non-Error rejections on purpose */
    if (kind === 'string') return Promise.reject('a string');
    if (kind === 'object') return Promise.reject({ statusCode: 418, message: 'teapot' });
    return Promise.reject(undefined);
    /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
  }

  @MessagePattern('p.obs')
  obs(@Payload() kind: string): unknown {
    if (kind === 'empty') return EMPTY;
    return concat(
      of(1, 2),
      throwError(() => new RpcException({ statusCode: 409, message: 'late failure' })),
    );
  }

  @MessagePattern('p.big')
  big(@Payload() size: number): unknown {
    return 'x'.repeat(size);
  }

  @MessagePattern('p.big-stream')
  bigStream(@Payload() size: number): unknown {
    return of('small', 'x'.repeat(size));
  }

  @MessagePattern('p.err')
  err(@Payload() kind: string): unknown {
    switch (kind) {
      case 'bigint':
        throw new RpcException({ statusCode: 400, message: 'has bigint', id: 10n });
      case 'cycle': {
        const o: Record<string, unknown> = { statusCode: 400, message: 'has cycle' };
        o.self = o;
        throw new RpcException(o);
      }
      case 'newline':
        throw new RpcException({ statusCode: 400, message: 'line one\nline two\r\nline three' });
      case 'code-string':
        throw new RpcException({ code: 'E_NOT_FOUND', message: 'nope' });
      case 'status-string':
        throw new RpcException({ status: '404', message: 'not here' });
      case 'nested':
        throw new RpcException({
          statusCode: 422,
          message: 'invalid',
          errors: [{ field: 'a', issues: [{ rule: 'min', limit: 1 }] }],
        });
      case 'unicode':
        throw new RpcException({ statusCode: 400, message: 'café — 日本語 ✓' });
      case 'string-newline':
        throw new RpcException('first\nsecond');
      case 'non-string-message':
        throw new RpcException({ statusCode: 400, message: ['a must be set', 'b must be set'] });
      default:
        throw new RpcException('default');
    }
  }

  @MessagePattern('p.echo')
  echo(@Payload() data: unknown): unknown {
    hits.echoSeen.push(data);
    return { got: data === undefined ? '<undefined>' : data, type: typeof data };
  }

  @EventPattern('p.twin')
  twinA(@Payload() _data: unknown): void {
    hits.twinA++;
  }

  @EventPattern('p.twin')
  twinB(@Payload() _data: unknown): void {
    hits.twinB++;
  }

  @EventPattern('p.evt-reject')
  evtReject(@Payload() kind: string): Promise<void> {
    /* eslint-disable @typescript-eslint/prefer-promise-reject-errors -- non-Error rejections on purpose */
    if (kind === 'string') return Promise.reject('evt string');
    if (kind === 'undefined') return Promise.reject(undefined);
    /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
    return Promise.reject(new RpcException({ message: 'rpc in event' }));
  }

  @EventPattern('p.evt-after')
  evtAfter(@Ctx() _ctx: NatsContext): void {
    hits.afterThrow++;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let server: NatsServerHandle;
let app: INestMicroservice;
let client: ClientNats;
let nc: NatsConnection;
const unhandled: unknown[] = [];
const uncaught: unknown[] = [];
const onUnhandled = (r: unknown) => unhandled.push(r);
const onUncaught = (e: unknown) => uncaught.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUncaught);
  server = await startServer({ config: `max_payload: ${MAX_PAYLOAD}` });
  app = await NestFactory.createMicroservice<MicroserviceOptions>(ProbeModule, {
    strategy: new ServerNats({ servers: server.url, gracefulShutdownTimeout: 1000 }),
    logger: false,
  });
  await app.listen();
  client = new ClientNats({ servers: server.url, timeout: 1000 });
  await client.connect();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await client?.close();
  await app?.close();
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUncaught);
});

beforeEach(() => {
  unhandled.length = 0;
  uncaught.length = 0;
});

const sendAll = (pattern: string, data: unknown) =>
  lastValueFrom(client.send(pattern, data).pipe(toArray()));
const sendErr = (pattern: string, data: unknown) =>
  firstValueFrom(client.send(pattern, data)).then(
    (v) => ({ resolved: v }),
    (e: unknown) => e,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stillServing(): Promise<void> {
  await expect(firstValueFrom(client.send('p.value', 'zero'))).resolves.toBe(0);
}

describe('reply values', () => {
  it.each([
    ['null', null],
    ['zero', 0],
    ['empty', ''],
    ['false', false],
  ])('replies with falsy value %s', async (kind, expected) => {
    await expect(sendAll('p.value', kind)).resolves.toEqual([expected]);
    const msg = await nc.request('p.value', JSON.stringify(kind));
    expect(msg.json()).toEqual(expected);
  });

  it('answers undefined with an empty reply (core) and completes (ClientNats)', async () => {
    const msg = await nc.request('p.value', '"undefined"');
    expect(msg.data.length).toBe(0);
    expect(msg.headers?.get('Nats-Service-Error-Code')).toBeUndefined();
    await expect(sendAll('p.value', 'undefined')).resolves.toEqual([]);
  });

  it.each(['string', 'object', 'undefined'])(
    'turns a rejection with a non-Error (%s) into a 500, no unhandled rejection',
    async (kind) => {
      const err = (await sendErr('p.reject', kind)) as ServiceError;
      expect(err).toBeInstanceOf(ServiceError);
      expect(err.serviceCode).toBe(500);
      expect(err.description).toBe('Internal server error');
      await sleep(30);
      expect(unhandled).toEqual([]);
      await stillServing();
    },
  );

  it('ends an empty Observable with the end marker for a core requester', async () => {
    const msg = await nc.request('p.obs', '"empty"');
    expect(msg.data.length).toBe(0);
    expect(msg.headers?.has('Nats-Stream-End')).toBe(true);
  });

  it('delivers values then the error of an Observable that errors late', async () => {
    const got: unknown[] = [];
    const err = await new Promise<unknown>((resolve) =>
      client.send('p.obs', 'late').subscribe({
        next: (v) => got.push(v),
        error: resolve,
        complete: () => resolve('completed'),
      }),
    );
    expect(got).toEqual([1, 2]);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(409);
    expect((err as ServiceError).description).toBe('late failure');
  });
});

describe('replies larger than max_payload', () => {
  it('gives a core requester an error reply, not a timeout', async () => {
    const t0 = Date.now();
    const err = await nc
      .request('p.big', String(MAX_PAYLOAD * 2), { timeout: 1000 })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(ServiceError);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('gives ClientNats an error, not a timeout, and keeps serving', async () => {
    const err = await sendErr('p.big', MAX_PAYLOAD * 2);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(ServiceError);
    expect(String((err as ServiceError).description)).toMatch(/payload/i);
    await stillServing();
  });

  it('ends a stream whose value is too large with an error, not a timeout', async () => {
    const got: unknown[] = [];
    const err = await new Promise<unknown>((resolve) =>
      client.send('p.big-stream', MAX_PAYLOAD * 2).subscribe({
        next: (v) => got.push(v),
        error: resolve,
        complete: () => resolve('completed'),
      }),
    );
    expect(got).toEqual(['small']);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(ServiceError);
  });
});

describe('error shapes', () => {
  it('keeps the status and full body of a nested RpcException object', async () => {
    const err = (await sendErr('p.err', 'nested')) as ServiceError & { details: unknown };
    expect(err.serviceCode).toBe(422);
    expect(err.description).toBe('invalid');
    expect(err.details).toEqual({
      statusCode: 422,
      message: 'invalid',
      errors: [{ field: 'a', issues: [{ rule: 'min', limit: 1 }] }],
    });
  });

  it('puts a newline message on one header line and keeps it in the body', async () => {
    const err = await nc.request('p.err', '"newline"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    const se = err as ServiceError;
    expect(se.serviceCode).toBe(400);
    expect(se.description).not.toMatch(/[\r\n]/);
    expect(se.description).toMatch(/line one.*line two.*line three/);
    expect(se.msg?.json()).toMatchObject({ message: 'line one\nline two\r\nline three' });
    const e2 = (await sendErr('p.err', 'string-newline')) as ServiceError;
    expect(e2.description).toMatch(/first.*second/);
    expect(e2.serviceCode).toBe(500);
  });

  it('defaults a non-numeric code to 500 and keeps it in the body', async () => {
    const err = (await sendErr('p.err', 'code-string')) as ServiceError & { details: unknown };
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.serviceCode).toBe(500);
    expect(err.description).toBe('nope');
    expect(err.details).toEqual({ code: 'E_NOT_FOUND', message: 'nope' });
  });

  it('reads a numeric status string', async () => {
    const err = (await sendErr('p.err', 'status-string')) as ServiceError;
    expect(err.serviceCode).toBe(404);
    expect(err.description).toBe('not here');
  });

  it('carries a unicode message in the header', async () => {
    const raw = await nc.request('p.err', '"unicode"').catch((e: unknown) => e);
    expect(raw).toBeInstanceOf(ServiceError);
    expect((raw as ServiceError).description).toBe('café — 日本語 ✓');
    const err = (await sendErr('p.err', 'unicode')) as ServiceError;
    expect(err.description).toBe('café — 日本語 ✓');
    await stillServing();
  });

  it('answers an RpcException with an array message with a readable description', async () => {
    const err = (await sendErr('p.err', 'non-string-message')) as ServiceError & {
      details: unknown;
    };
    expect(err.serviceCode).toBe(400);
    expect(err.description).toMatch(/a must be set/);
    expect(err.details).toMatchObject({ message: ['a must be set', 'b must be set'] });
  });

  it.each(['bigint', 'cycle'])(
    'answers an RpcException whose object cannot be JSON-encoded (%s) with an error, no crash',
    async (kind) => {
      const err = await sendErr('p.err', kind);
      expect(err).toBeInstanceOf(ServiceError);
      expect(err).not.toBeInstanceOf(TimeoutError);
      await sleep(50);
      expect(uncaught).toEqual([]);
      expect(unhandled).toEqual([]);
      await stillServing();
    },
  );
});

describe('payloads from a plain core client', () => {
  it.each([
    ['non-JSON text', 'hello world', 'hello world'],
    ['a JSON string', '"hi"', 'hi'],
    ['a number', '42', 42],
    ['an array', '[1,"a",null]', [1, 'a', null]],
    ['unicode JSON', '"日本語 ✓ 😀"', '日本語 ✓ 😀'],
    ['empty', '', '<undefined>'],
  ])('accepts %s', async (_name, payload, expected) => {
    const msg = await nc.request('p.echo', payload);
    expect(msg.json()).toMatchObject({ got: expected });
  });

  it('passes non-UTF-8 bytes to the handler without failing', async () => {
    const msg = await nc.request('p.echo', new Uint8Array([0xff, 0x00, 0xfe, 0x80]));
    expect(msg.json<{ type: string }>().type).toBe('string');
  });

  it("answers Nest's envelope sent by a core client in the envelope", async () => {
    const msg = await nc.request(
      'p.echo',
      JSON.stringify({ pattern: 'p.echo', data: { a: 1 }, id: 'abc' }),
    );
    expect(msg.json()).toEqual({
      id: 'abc',
      response: { got: { a: 1 }, type: 'object' },
      isDisposed: true,
    });
    const e = await nc.request(
      'p.err',
      JSON.stringify({ pattern: 'p.err', data: 'nested', id: 'e1' }),
    );
    expect(e.json()).toMatchObject({ id: 'e1', err: { statusCode: 422 }, isDisposed: true });
    const empty = await nc.request(
      'p.obs',
      JSON.stringify({ pattern: 'p.obs', data: 'empty', id: 'x' }),
    );
    expect(empty.json()).toEqual({ id: 'x', isDisposed: true });
  });

  it('answers a plain JSON request whose object happens to have a "pattern" key', async () => {
    // e.g. a search API: { pattern: 'foo*' } — not Nest's envelope (no id), and it has a reply.
    const msg = await nc
      .request('p.echo', JSON.stringify({ pattern: 'foo*' }), { timeout: 1000 })
      .catch((e: unknown) => e);
    expect(msg).not.toBeInstanceOf(TimeoutError);
    expect((msg as { json(): unknown }).json()).toEqual({
      got: { pattern: 'foo*' },
      type: 'object',
    });
  });

  it('ClientNats.send() of an object with pattern/data keys reaches the handler unchanged', async () => {
    const res = await sendErr('p.echo', { pattern: 'foo*', data: 'bar' });
    expect(res).toEqual({ resolved: { got: { pattern: 'foo*', data: 'bar' }, type: 'object' } });
  });
});

describe('events', () => {
  it('runs each of two @EventPattern handlers on one subject exactly once per event', async () => {
    hits.twinA = 0;
    hits.twinB = 0;
    for (let i = 0; i < 3; i++)
      await firstValueFrom(client.emit('p.twin', { i }), { defaultValue: undefined });
    await client.unwrap<NatsConnection>().flush();
    await sleep(200);
    expect({ a: hits.twinA, b: hits.twinB }).toEqual({ a: 3, b: 3 });
  });

  it.each(['string', 'undefined', 'rpc'])(
    'survives an event handler rejecting with %s (no unhandled rejection)',
    async (kind) => {
      const before = hits.afterThrow;
      await firstValueFrom(client.emit('p.evt-reject', kind), { defaultValue: undefined });
      await firstValueFrom(client.emit('p.evt-after', {}), { defaultValue: undefined });
      await client.unwrap<NatsConnection>().flush();
      await sleep(100);
      expect(hits.afterThrow).toBe(before + 1);
      expect(unhandled).toEqual([]);
      expect(uncaught).toEqual([]);
    },
  );
});

// Error replies that cannot be encoded must still answer the caller and release the in-flight
// count.
describe('error replies that cannot be encoded', () => {
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
});
