import { CallbackError, type NatsError } from '../errors.js';
import type { TelemetrySpan } from '../telemetry/hooks.js';

/** Where errors that belong to no call go (the connection's `onError` and `status()`). */
export interface ErrorSink {
  reportError(err: NatsError): void;
}

/**
 * Runs a consumer's user callback: a throw or a rejected promise is reported as a
 * `CallbackError` through the sink, and delivery goes on. `subject` names the subscription in
 * the error, fixed or taken from the message. `after` runs once the callback succeeded (at once,
 * or when its promise resolves).
 */
export class CallbackRunner<M> {
  constructor(
    private readonly callback: (msg: M) => unknown,
    private readonly sink: ErrorSink,
    private readonly subject: string | ((msg: M) => string),
    private readonly after?: (msg: M) => void,
  ) {}

  /**
   * Calls the callback; returns its promise, settled either way, when it is async. `span` (the
   * message's process span, while telemetry is on) is marked failed when the callback fails.
   */
  run(msg: M, span?: TelemetrySpan): Promise<unknown> | undefined {
    try {
      const r = this.callback(msg);
      if (r instanceof Promise) {
        const after = this.after;
        return after === undefined
          ? r.then(undefined, (e: unknown) => this.failed(msg, e, span))
          : r.then(
              () => after(msg),
              (e: unknown) => this.failed(msg, e, span),
            );
      }
      this.after?.(msg);
    } catch (e) {
      this.failed(msg, e, span);
    }
    return undefined;
  }

  /** Reports `e` (anything thrown) as the callback's failure on `msg`. */
  failed(msg: M, e: unknown, span?: TelemetrySpan): void {
    span?.fail(e);
    const cause = e instanceof Error ? e : new Error(String(e));
    const subject = typeof this.subject === 'string' ? this.subject : this.subject(msg);
    this.sink.reportError(new CallbackError(subject, cause));
  }
}
