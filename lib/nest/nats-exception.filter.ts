import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { recordThrownIn } from './context/thrown.js';

/**
 * An exception filter for NATS handlers that keeps what callers need: an `RpcException`'s
 * error as is, and an `HttpException` (thrown by pipes such as `ParseIntPipe` or
 * `ValidationPipe`, and by shared services) as `{ statusCode, message, ... }`, so the caller
 * gets a 400 with the validation message instead of Nest's generic "Internal server error".
 * Anything else is logged and hidden behind a 500. Use with `@UseFilters(new NatsExceptionFilter())`
 * or `app.useGlobalFilters(...)`.
 */
@Catch()
export class NatsExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly log = new Logger('NatsExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    // The transport's OpenTelemetry span records the exception as thrown, not as filtered.
    recordThrownIn(host.switchToRpc().getContext(), exception);
    if (exception instanceof RpcException) {
      const error = exception.getError();
      return throwError(() =>
        typeof error === 'object' && error !== null
          ? error
          : { statusCode: 500, message: String(error) },
      );
    }
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const fields = typeof body === 'object' && body !== null ? body : { message: String(body) };
      return throwError(() => ({ ...fields, statusCode: exception.getStatus() }));
    }
    this.log.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return throwError(() => ({ statusCode: 500, message: 'Internal server error' }));
  }
}
