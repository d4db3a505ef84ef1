import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, type Observable } from 'rxjs';
import type { ConnectionTelemetry, InFlight, Msg, TelemetrySpan } from '../../core/internal.js';
import { NatsContext } from '../context/nats.context.js';
import { originalError } from '../context/thrown.js';
import { asNestEnvelope, decodePayload, toWireError } from '../wire.js';
import type { ReplyTarget, ReplyWriter } from './reply-writer.js';

/** Nest's processing hooks (installed by instrumentation), as the transport runs them. */
export interface ProcessingHooks {
  /** True when none is installed: Nest's default start hook and no end hook. */
  none(): boolean;
  /** Runs `fn` between the start and end hooks. */
  around(ctx: NatsContext, fn: () => Promise<void>): Promise<void>;
}

/** What a `Dispatcher` works with. */
export interface DispatcherOptions {
  /** Every handler run is tracked here, so `close()` can wait for it. */
  inFlight: InFlight;
  /** Writes every reply. */
  replies: ReplyWriter;
  hooks: ProcessingHooks;
  /** Gets a handler that failed without answering through Nest's exception filters. */
  failed: (pattern: string, message: string) => void;
}

/**
 * Runs the `@MessagePattern` and `@EventPattern` handlers of core subscriptions and Service API
 * endpoints, and turns what they return into replies: plain JSON (a stream of them for an
 * Observable), or Nest's envelope for a request sent by Nest's built-in NATS client.
 */
export class Dispatcher {
  // While OpenTelemetry is on: the process span of each handler run, by its reply target, so a
  // failure (thrown, or mapped by an exception filter into an error reply) marks it ERROR.
  private readonly spans = new WeakMap<object, { span: TelemetrySpan; ctx: NatsContext }>();

  constructor(private readonly opts: DispatcherOptions) {}

  /**
   * A message on a core subscription. The common case, a plain JSON request with no
   * instrumentation hooks installed, goes straight to `runPlain()` without `dispatch()`'s
   * promise chain. While OpenTelemetry is on, the handler's promise is returned: the core's
   * `process {pattern}` span around this callback then lasts until the handler is done.
   */
  onMessage(
    pattern: string,
    handler: MessageHandler,
    msg: Msg,
    telemetry?: ConnectionTelemetry,
  ): Promise<void> | undefined {
    const { inFlight, hooks } = this.opts;
    const traced = telemetry !== undefined && telemetry.hooks !== null;
    if (traced || handler.isEventHandler || !msg.reply || !hooks.none()) {
      const span = traced ? telemetry.current : undefined;
      const work = this.dispatch(pattern, handler, msg, msg, undefined, span);
      inFlight.track(work);
      return traced ? work : undefined;
    }
    const raw = decodePayload(msg.data);
    if (asNestEnvelope(raw, msg)) {
      inFlight.track(this.dispatch(pattern, handler, msg, msg, raw));
      return undefined;
    }
    inFlight.begin();
    this.runPlain(handler, raw, new NatsContext(msg), msg, inFlight.end, (err) => {
      this.handlerFailed(pattern, err);
      inFlight.end();
    });
    return undefined;
  }

  /** Runs `handler` for `msg` and answers `target` (the message, or its Service API request). */
  async dispatch(
    pattern: string,
    handler: MessageHandler,
    msg: Msg,
    target: ReplyTarget = msg,
    decoded?: unknown,
    span?: TelemetrySpan,
  ): Promise<void> {
    const raw = decoded === undefined ? decodePayload(msg.data) : decoded;
    const envelope = asNestEnvelope(raw, msg);
    const data = envelope ? envelope.data : raw;
    const ctx = new NatsContext(msg);
    if (span !== undefined) this.spans.set(target, { span, ctx });
    try {
      if (handler.isEventHandler || (envelope && envelope.id === undefined)) {
        await this.runEvent(handler, data, ctx);
      } else if (envelope) {
        await this.replyNestEnvelope(handler, data, ctx, target, envelope.id as string);
      } else {
        await this.replyPlain(handler, data, ctx, target);
      }
    } catch (err) {
      this.spanFailed(target, err);
      this.handlerFailed(pattern, err);
    }
  }

  /** Nest's exception layer hands back objects such as `{ status, message }`, not only Errors. */
  private handlerFailed(pattern: string, err: unknown): void {
    this.opts.failed(pattern, toWireError(err).message);
  }

  /**
   * Marks the process span of the handler run answering `target` (if traced) failed, with the
   * error the handler threw when it was recorded (`NatsExceptionFilter`, or an interceptor),
   * else `err` as the exception filters made it.
   */
  private spanFailed(target: ReplyTarget, err: unknown): void {
    const traced = this.spans.get(target);
    if (traced !== undefined) traced.span.fail(originalError(traced.ctx, err));
  }

  /**
   * Runs an event handler. Nest chains several `@EventPattern`s on one subject through
   * `handler.next` and its wrapper calls the next ones itself (joined into the returned
   * Observable), so only the first is called here. The handler is already known from the
   * subscription, so Nest's pattern lookup (a JSON parse attempt per message) is skipped.
   */
  private runEvent(handler: MessageHandler, data: unknown, ctx: NatsContext): Promise<void> {
    return this.withHooks(ctx, async () => {
      const result: unknown = await handler(data, ctx);
      if (isObservable(result)) await consume(result, () => undefined);
    });
  }

  /** Plain replies: the value as JSON; a stream marks every reply but the last. */
  private replyPlain(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    target: ReplyTarget,
  ): Promise<void> {
    return this.withHooks(
      ctx,
      () =>
        new Promise<void>((resolve, reject) =>
          this.runPlain(handler, data, ctx, target, resolve, reject),
        ),
    );
  }

  /**
   * Runs a request handler and answers with its result (one `then()`, replies sent from the
   * Observable's callbacks). `done` follows the last reply; `failed` gets a handler that threw
   * or rejected instead of answering through Nest's exception filters.
   */
  private runPlain(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    target: ReplyTarget,
    done: () => void,
    failed: (err: unknown) => void,
  ): void {
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(data, ctx));
    } catch (err) {
      failed(err);
      return;
    }
    result.then((value) => {
      if (isObservable(value)) {
        this.streamReplies(value, target, done);
      } else {
        this.opts.replies.write(target, { kind: 'value', value });
        done();
      }
    }, failed);
  }

  /**
   * Replies with every value of `source`: all but the last marked as "more" (the last is held
   * back until the next value or completion says whether more follow); an error becomes an
   * error reply; a stream with no value ends with an empty end marker. Calls `done` at the end.
   */
  private streamReplies(source: Observable<unknown>, target: ReplyTarget, done: () => void): void {
    const replies = this.opts.replies;
    let holding = false;
    let held: unknown;
    source.subscribe({
      next: (value) => {
        if (holding) replies.write(target, { kind: 'value', value: held, more: true });
        holding = true;
        held = value;
      },
      error: (error: unknown) => {
        this.spanFailed(target, error);
        try {
          if (holding) replies.write(target, { kind: 'value', value: held, more: true });
          replies.write(target, { kind: 'error', error });
        } finally {
          done();
        }
      },
      complete: () => {
        try {
          if (holding) replies.write(target, { kind: 'value', value: held });
          else replies.write(target, { kind: 'end' });
        } finally {
          done();
        }
      },
    });
  }

  /** Nest's envelope: `{ id, response }` per value, `{ id, err, isDisposed }` / `{ id, isDisposed }`. */
  private replyNestEnvelope(
    handler: MessageHandler,
    data: unknown,
    ctx: NatsContext,
    target: ReplyTarget,
    id: string,
  ): Promise<void> {
    const replies = this.opts.replies;
    return this.withHooks(ctx, async () => {
      const result: unknown = await handler(data, ctx);
      if (!isObservable(result)) {
        replies.write(target, { kind: 'nest', id, response: result, isDisposed: true });
        return;
      }
      await consume(result, (response) =>
        replies.write(target, { kind: 'nest', id, response }),
      ).then(
        () => replies.write(target, { kind: 'nest', id, isDisposed: true }),
        (err: unknown) => {
          this.spanFailed(target, err);
          replies.write(target, { kind: 'nest', id, err, isDisposed: true });
        },
      );
    });
  }

  /** Runs `fn` between Nest's processing hooks; without instrumentation, just `fn`. */
  private withHooks(ctx: NatsContext, fn: () => Promise<void>): Promise<void> {
    return this.opts.hooks.none() ? fn() : this.opts.hooks.around(ctx, fn);
  }
}

/** Subscribes to `source`, calling `onValue` for each value; resolves on completion. */
function consume<T>(source: Observable<T>, onValue: (v: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    source.subscribe({ next: onValue, error: reject, complete: resolve });
  });
}
