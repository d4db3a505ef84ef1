import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { MessageContext } from '../context/message.context.js';
import { recordThrownIn } from '../context/thrown.js';
import { toWireError } from '../wire.js';

/**
 * What a `@JetStreamHandler` threw, as it threw it: before Nest's exception filters turned it
 * into the `{ status: 'error', message: 'Internal server error' }` a caller would get. The
 * `settled` event, the log lines and the `Nats-Dead-Letter-Error*` headers all report this.
 */
export interface HandlerError {
  /**
   * The class of the thrown Error: `Error`, `TypeError`, `TermException`, the app's own class
   * (its `name`, or its constructor's name when `name` was left as `'Error'`). For a thrown value
   * that is not an Error (a string, a plain object): its `name` property if it has one, else
   * `'Error'`.
   */
  name: string;
  /**
   * The message. For an `RpcException` or `HttpException`, the message of its error object
   * (several messages, as `ValidationPipe` gives, joined with `; `).
   */
  message: string;
  /**
   * The error's `code` (a Node.js system error's `ECONNRESET`, a `NatsError`'s `TIMEOUT`, or the
   * `code` of an `RpcException`'s error object), as text; absent when it has none.
   */
  code?: string;
  /** The thrown value itself, for `instanceof` checks and its other fields. */
  cause: unknown;
}

/**
 * Records what the handler (or a pipe before it) throws for the transport, and passes it on
 * unchanged: what Nest's filters make of it is untouched.
 */
class RecordThrown implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Inside Nest's pipeline (next to the handler, inside any interceptor declared before
    // `@JetStreamHandler`), before the exception filters rewrite it.
    const ctx = context.switchToRpc().getContext<unknown>();
    if (!(ctx instanceof MessageContext)) return next.handle();
    return next.handle().pipe(tap({ error: (value: unknown) => recordThrownIn(ctx, value) }));
  }
}

/** The interceptor `@JetStreamHandler` installs on its method (stateless, so shared). */
export const recordThrown: NestInterceptor = new RecordThrown();

export { originalError } from '../context/thrown.js';

/** Describes a thrown value for the `settled` event, the logs and the dead-letter headers. */
export function describeError(thrown: unknown): HandlerError {
  if (thrown instanceof Error) {
    const body = errorBody(thrown);
    const code = codeOf(thrown) ?? codeOf(body);
    return {
      name: className(thrown),
      message: body === undefined ? thrown.message : toWireError(body).message,
      ...(code !== undefined ? { code } : {}),
      cause: thrown,
    };
  }
  const name = (thrown as { name?: unknown } | null | undefined)?.name;
  const code = codeOf(thrown);
  return {
    name: typeof name === 'string' && name !== '' ? name : 'Error',
    message: toWireError(thrown).message,
    ...(code !== undefined ? { code } : {}),
    cause: thrown,
  };
}

/** One line for a log: `Name [code]: message`. */
export function errorLine(e: HandlerError): string {
  return `${e.name}${e.code !== undefined ? ` [${e.code}]` : ''}: ${oneLine(e.message)}`;
}

/** Header values and log lines stay on one line. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** The error object of an `RpcException` (`getError()`) or `HttpException` (`getResponse()`). */
function errorBody(err: Error): unknown {
  for (const getter of ['getError', 'getResponse'] as const) {
    const fn = (err as unknown as Record<string, unknown>)[getter];
    if (typeof fn === 'function') return (fn as () => unknown).call(err);
  }
  return undefined;
}

function className(err: Error): string {
  if (typeof err.name === 'string' && err.name !== '' && err.name !== 'Error') return err.name;
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor !== '' ? ctor : 'Error';
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}
