// Nest's pipeline (guards, pipes, interceptors, filters), Service API mode and the built-in
// client's envelope, with odd inputs and failures.
import 'reflect-metadata';
import {
  BadRequestException,
  Catch,
  Controller,
  Module,
  NotFoundException,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type INestMicroservice,
  type NestInterceptor,
  type PipeTransform,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import {
  catchError,
  finalize,
  firstValueFrom,
  interval,
  lastValueFrom,
  map,
  of,
  take,
  throwError,
  timeout,
  toArray,
  type Observable,
} from 'rxjs';
import {
  ClientNats,
  NatsExceptionFilter,
  ServerNats,
  ServiceError,
  TimeoutError,
  connect,
  type NatsConnection,
} from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';

const timings: number[] = [];

class TimingInterceptor implements NestInterceptor {
  intercept(_ctx: unknown, next: CallHandler): Observable<unknown> {
    const t0 = Date.now();
    return next.handle().pipe(
      map((v: unknown) => ({ wrapped: v })),
      finalize(() => timings.push(Date.now() - t0)),
    );
  }
}

class RecoverInterceptor implements NestInterceptor {
  intercept(_ctx: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError(() => of('recovered')));
  }
}

class ThrowingGuard implements CanActivate {
  canActivate(): boolean {
    throw new RpcException({ statusCode: 401, message: 'no token' });
  }
}

class AsyncDenyGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await new Promise((r) => setTimeout(r, 10));
    return false;
  }
}

class ValidationLikePipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (typeof (value as { name?: unknown })?.name !== 'string')
      throw new BadRequestException(['name must be a string', 'name should not be empty']);
    return value;
  }
}

@Catch(RpcException)
class TeapotFilter implements RpcExceptionFilter<RpcException> {
  catch(_e: RpcException, _host: ArgumentsHost): Observable<unknown> {
    return throwError(() => ({ statusCode: 418, message: 'teapot', custom: true }));
  }
}

@Catch()
class FallbackFilter implements RpcExceptionFilter<unknown> {
  catch(): Observable<unknown> {
    return of('fallback value');
  }
}

@Controller()
class PipelineController {
  @UseInterceptors(TimingInterceptor)
  @MessagePattern('pl.timed')
  async timed(@Payload() ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return 'done';
  }

  @UseInterceptors(TimingInterceptor)
  @MessagePattern('pl.timed-stream')
  timedStream(): Observable<number> {
    return interval(5).pipe(take(3));
  }

  @UseInterceptors(RecoverInterceptor)
  @MessagePattern('pl.recover')
  recover(): unknown {
    throw new Error('will be recovered');
  }

  @UseGuards(ThrowingGuard)
  @MessagePattern('pl.guard-throws')
  guardThrows(): string {
    return 'never';
  }

  @UseGuards(AsyncDenyGuard)
  @MessagePattern('pl.guard-async')
  guardAsync(): string {
    return 'never';
  }

  @UseFilters(new NatsExceptionFilter())
  @UsePipes(new ValidationLikePipe())
  @MessagePattern('pl.validate')
  validate(@Payload() body: { name: string }): string {
    return `hello ${body.name}`;
  }

  @UsePipes(new ValidationLikePipe())
  @MessagePattern('pl.validate-nofilter')
  validateNoFilter(@Payload() body: { name: string }): string {
    return `hello ${body.name}`;
  }

  @UseFilters(new NatsExceptionFilter())
  @MessagePattern('pl.notfound')
  notFound(): string {
    throw new NotFoundException('order 7 not found');
  }

  @UseFilters(new TeapotFilter())
  @MessagePattern('pl.teapot')
  teapot(): string {
    throw new RpcException('x');
  }

  @UseFilters(new FallbackFilter())
  @MessagePattern('pl.fallback')
  fallback(): string {
    throw new Error('boom');
  }

  @MessagePattern('pl.big')
  big(@Payload() size: number): string {
    return 'x'.repeat(size);
  }

  @MessagePattern('pl.bigint')
  bigint(): unknown {
    return { n: 1n };
  }

  @MessagePattern('pl.bigint-error')
  bigintError(): unknown {
    throw new RpcException({ statusCode: 400, message: 'bad', n: 1n });
  }
}

@Module({ controllers: [PipelineController] })
class PipelineModule {}

const MAX_PAYLOAD = 8192;
let server: NatsServerHandle;
let app: INestMicroservice;
let svcApp: INestMicroservice;
let client: ClientNats;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({ config: `max_payload: ${MAX_PAYLOAD}` });
  app = await NestFactory.createMicroservice<MicroserviceOptions>(PipelineModule, {
    strategy: new ServerNats({ servers: server.url }),
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
  await svcApp?.close();
  await app?.close();
  await server?.stop();
});

const sendErr = (pattern: string, data: unknown) =>
  firstValueFrom(client.send(pattern, data)).then(
    (v) => ({ resolved: v }),
    (e: unknown) => e,
  );

describe('Nest pipeline on ServerNats', () => {
  it('runs a timing/mapping interceptor around async handlers and streams', async () => {
    timings.length = 0;
    await expect(firstValueFrom(client.send('pl.timed', 60))).resolves.toEqual({ wrapped: 'done' });
    expect(timings[0]).toBeGreaterThanOrEqual(55);
    const values = await lastValueFrom(client.send('pl.timed-stream', {}).pipe(toArray()));
    expect(values).toEqual([{ wrapped: 0 }, { wrapped: 1 }, { wrapped: 2 }]);
  });

  it('lets an interceptor recover from a handler error', async () => {
    await expect(firstValueFrom(client.send('pl.recover', {}))).resolves.toBe('recovered');
  });

  it('returns a guard that throws an RpcException with its code', async () => {
    const err = (await sendErr('pl.guard-throws', {})) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.serviceCode).toBe(401);
    expect(err.description).toBe('no token');
  });

  it('refuses through an async guard', async () => {
    const err = (await sendErr('pl.guard-async', {})) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.description).toBe('Forbidden resource');
  });

  it('returns a ValidationPipe-like 400 with its messages through NatsExceptionFilter', async () => {
    await expect(firstValueFrom(client.send('pl.validate', { name: 'ann' }))).resolves.toBe(
      'hello ann',
    );
    const err = (await sendErr('pl.validate', { name: 3 })) as ServiceError & { details: unknown };
    expect(err).toBeInstanceOf(ServiceError);
    expect(err.serviceCode).toBe(400);
    expect(err.description).toMatch(/name must be a string/);
    expect(err.details).toMatchObject({
      statusCode: 400,
      message: ['name must be a string', 'name should not be empty'],
    });
  });

  it('hides a pipe error behind a 500 without the filter (as documented)', async () => {
    const err = (await sendErr('pl.validate-nofilter', { name: 3 })) as ServiceError;
    expect(err.serviceCode).toBe(500);
    expect(err.description).toBe('Internal server error');
  });

  it('maps HttpException status through NatsExceptionFilter', async () => {
    const err = (await sendErr('pl.notfound', {})) as ServiceError;
    expect(err.serviceCode).toBe(404);
    expect(err.description).toBe('order 7 not found');
  });

  it('applies custom exception filters (throwing and recovering)', async () => {
    const err = (await sendErr('pl.teapot', {})) as ServiceError & { details: unknown };
    expect(err.serviceCode).toBe(418);
    expect(err.details).toEqual({ statusCode: 418, message: 'teapot', custom: true });
    await expect(firstValueFrom(client.send('pl.fallback', {}))).resolves.toBe('fallback value');
  });
});

describe('with service: {...} (Service API endpoints)', () => {
  beforeAll(async () => {
    svcApp = await NestFactory.createMicroservice<MicroserviceOptions>(PipelineModule, {
      strategy: new ServerNats({
        servers: server.url,
        queue: 'svc',
        service: { name: 'pipeline', version: '1.0.0' },
      }),
      logger: false,
    });
    await svcApp.listen();
    // Only the service app should answer from now on.
    await app.close();
    app = undefined as unknown as INestMicroservice;
  });

  it('answers a too-large reply with an error, not a timeout, and counts it', async () => {
    const err = await nc
      .request('pl.big', String(MAX_PAYLOAD * 2), { timeout: 1000 })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(ServiceError);
  });

  it('answers an unencodable value with an error reply', async () => {
    const err = await nc.request('pl.bigint', '', { timeout: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(500);
  });

  it('keeps the error body of an RpcException for a Service API caller', async () => {
    const err = (await sendErr('pl.teapot', {})) as ServiceError & { details: unknown };
    expect(err.serviceCode).toBe(418);
    expect(err.details).toEqual({ statusCode: 418, message: 'teapot', custom: true });
    const [stats] = await nc.services.stats('pipeline');
    const tp = stats.endpoints.find((e) => e.subject === 'pl.teapot');
    expect(tp?.numErrors).toBeGreaterThanOrEqual(1);
  });
});

describe("Nest's built-in NATS client (envelope)", () => {
  let builtin: ClientProxy;
  beforeAll(async () => {
    builtin = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: [server.url] },
    });
    await builtin.connect();
  });
  afterAll(async () => {
    await builtin?.close();
  });

  const ask = (pattern: string, data: unknown) =>
    firstValueFrom(builtin.send(pattern, data).pipe(timeout(1000))).then(
      (v: unknown) => ({ resolved: v }),
      (e: unknown) => e,
    );

  it('answers an unencodable result with an error (like the plain path), not silence', async () => {
    const res = await ask('pl.bigint', {});
    expect((res as Error)?.name).not.toBe('TimeoutError');
    expect(res).toMatchObject({ message: expect.stringMatching(/BigInt/) });
  });

  it('answers a too-large result with an error, not silence', async () => {
    const res = await ask('pl.big', MAX_PAYLOAD * 2);
    expect((res as Error)?.name).not.toBe('TimeoutError');
    expect(res).toHaveProperty('message');
  });

  it('answers an unencodable error object with an error, not silence', async () => {
    const res = await ask('pl.bigint-error', {});
    expect((res as Error)?.name).not.toBe('TimeoutError');
  });
});
