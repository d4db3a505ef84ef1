import 'reflect-metadata';
import {
  Controller,
  Module,
  ParseIntPipe,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type LoggerService,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { interval, map, of, take, throwError, type Observable } from 'rxjs';
import {
  MsgHeaders,
  NatsContext,
  NatsExceptionFilter,
  NatsRecord,
  NatsRecordBuilder,
  ServerNats,
  type ServerNatsOptions,
} from '../../../lib/index.js';

/** What the e2e tests observe from inside the app. */
export const seen = {
  events: [] as Array<{ subject: string; data: unknown; app: string }>,
  handledBy: [] as string[],
  /** Apps that ran `calc.queued`, one entry per request. */
  queuedBy: [] as string[],
  /** Apps that started a `calc.slow` request. */
  slowStartedIn: [] as string[],
};

class UpperInterceptor implements NestInterceptor {
  intercept(_ctx: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((v: unknown) => (typeof v === 'string' ? v.toUpperCase() : v)));
  }
}

/** Lets a request through only when it carries `x-token: secret`. */
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<NatsContext>();
    return ctx.getHeaders()?.get('x-token') === 'secret';
  }
}

export function calcController(appName: string) {
  @Controller()
  class CalcController {
    @MessagePattern('calc.sum')
    sum(@Payload() nums: number[]): number {
      seen.handledBy.push(appName);
      return nums.reduce((a, b) => a + b, 0);
    }

    @MessagePattern('calc.slow')
    async slow(@Payload() ms: number): Promise<string> {
      seen.slowStartedIn.push(appName);
      await new Promise((r) => setTimeout(r, ms));
      return `slept ${ms}`;
    }

    /** In its own queue group, whatever the app's default `queue` says. */
    @MessagePattern<string>('calc.queued', { queue: 'calc-queued' })
    queued(@Payload() n: number): number {
      seen.queuedBy.push(appName);
      return n;
    }

    @MessagePattern('calc.count')
    count(@Payload() n: number): Observable<number> {
      return interval(5).pipe(take(n));
    }

    @MessagePattern('calc.empty')
    empty(): Observable<number> {
      return of();
    }

    @MessagePattern('calc.fail')
    fail(@Payload() kind: string): unknown {
      if (kind === 'rpc')
        throw new RpcException({ statusCode: 422, message: 'bad input', field: 'x' });
      if (kind === 'string') throw new RpcException('plain message');
      if (kind === 'observable')
        return throwError(() => new RpcException({ statusCode: 409, message: 'conflict' }));
      throw new Error('boom');
    }

    @MessagePattern('calc.unserializable')
    unserializable(@Payload() kind: string): unknown {
      if (kind === 'stream') return of(1, 10n);
      return { big: 10n };
    }

    @MessagePattern('calc.echo-headers')
    echoHeaders(@Payload() _data: unknown, @Ctx() ctx: NatsContext) {
      const id = ctx.getHeaders()?.get('x-request-id') ?? 'none';
      return new NatsRecordBuilder({ subject: ctx.getSubject() })
        .setHeaders({ 'x-request-id': id, 'x-app': appName })
        .build();
    }

    /** `n` streamed replies, each with its own `x-index` header. */
    @MessagePattern('calc.count-records')
    countRecords(@Payload() n: number) {
      return interval(5).pipe(
        take(n),
        map((i) => new NatsRecordBuilder(i).setHeaders({ 'x-index': String(i) }).build()),
      );
    }

    /** Three streamed replies sharing one headers object. */
    @MessagePattern('calc.count-shared-headers')
    countSharedHeaders() {
      const headers = new MsgHeaders({ 'x-app': appName });
      return of(1, 2, 3).pipe(map((v) => new NatsRecord(v, headers)));
    }

    @MessagePattern('calc.wild.*')
    wild(@Payload() data: unknown, @Ctx() ctx: NatsContext) {
      return { subject: ctx.getSubject(), data };
    }

    @UseGuards(TokenGuard)
    @MessagePattern('calc.guarded')
    guarded(): string {
      return 'welcome';
    }

    @UseFilters(new NatsExceptionFilter())
    @MessagePattern('calc.double')
    double(@Payload(ParseIntPipe) n: number): number {
      return n * 2;
    }

    @UseInterceptors(UpperInterceptor)
    @MessagePattern('calc.shout')
    shout(@Payload() text: string): string {
      return text;
    }

    @EventPattern<string>('calc.events.>')
    onEvent(@Payload() data: unknown, @Ctx() ctx: NatsContext): void {
      seen.events.push({ subject: ctx.getSubject(), data, app: appName });
    }

    @EventPattern<string>('calc.bad-event')
    badEvent(): void {
      throw new Error('event handler failure');
    }
  }
  return CalcController;
}

/** Starts a microservice app with the calc controller on ServerNats; silent unless given a logger. */
export async function startCalcApp(
  appName: string,
  options: ServerNatsOptions,
  logger: LoggerService | false = false,
) {
  @Module({ controllers: [calcController(appName)] })
  class CalcModule {}
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(CalcModule, {
    strategy: new ServerNats(options),
    logger,
  });
  await app.listen();
  return app;
}
