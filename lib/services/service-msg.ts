import {
  InvalidOptionError,
  MsgHeaders,
  MsgView,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
  type Msg,
  type PublishOptions,
} from '../core/internal.js';

/** @internal What a request reports to the endpoint that received it. */
export interface RequestRecorder {
  /** Counts one error with its text (`code:description`). */
  error(text: string, generation: number): void;
  /** Adds the time the request took, once, when it is answered or its handler settles. */
  done(elapsedNs: number, generation: number): void;
}

/** Options of `respond()` / `respondError()`. */
export type RespondOptions = Pick<PublishOptions, 'headers'>;

/**
 * A request received by a service endpoint: the core `Msg` (as `msg`) plus `respond()` and
 * `respondError()`, which also feed the endpoint's statistics.
 */
export class ServiceMsg extends MsgView {
  private readonly start = process.hrtime.bigint();
  private finished = false;
  private answered = false;

  /** @internal */
  constructor(
    msg: Msg,
    private readonly recorder: RequestRecorder,
    private readonly generation: number,
  ) {
    super(msg);
  }

  /** True once `respond()` or `respondError()` was called. */
  get isAnswered(): boolean {
    return this.answered;
  }

  /**
   * Answers the request. Returns a promise only while the outbound buffer is above its
   * high-water mark (see `publish()`). Throws `NoReplySubjectError` when there is no reply subject.
   */
  respond(data?: Uint8Array | string, opts?: RespondOptions): Promise<void> | undefined {
    // Only a reply that was actually sent counts: when publishing throws (no reply subject, a
    // payload over max_payload), a handler that lets it escape is answered with a 500 instead.
    const pressure = this.msg.respond(data, opts);
    this.answered = true;
    this.finish();
    return pressure;
  }

  /**
   * Answers with the `Nats-Service-Error` and `Nats-Service-Error-Code` headers (and optional
   * details in `data`) and counts an error. Throws `InvalidOptionError` when `code` is not an
   * integer or `description` is empty, and `NoReplySubjectError` when there is no reply subject.
   */
  respondError(
    code: number,
    description: string,
    data?: Uint8Array | string,
    opts?: RespondOptions,
  ): Promise<void> | undefined {
    // A safe integer: its decimal form must parse back as that number (1e21 would not).
    if (!Number.isSafeInteger(code)) {
      throw new InvalidOptionError('service error code must be an integer');
    }
    // Header values cannot hold line breaks; a multi-line exception message is folded.
    const folded = typeof description === 'string' ? description.replace(/[\r\n]+/g, ' ') : '';
    if (folded.trim().length === 0) {
      throw new InvalidOptionError('service error description is required');
    }
    // A copy: the caller's headers object must not gain the error headers.
    const headers = new MsgHeaders();
    if (opts?.headers) {
      for (const [name, values] of MsgHeaders.from(opts.headers)) headers.set(name, values);
    }
    headers.set(SERVICE_ERROR_HEADER, folded);
    headers.set(SERVICE_ERROR_CODE_HEADER, String(code));
    const pressure = this.respond(data, { headers });
    this.recorder.error(`${code}:${description}`, this.generation);
    return pressure;
  }

  /** @internal Records the request's processing time, the first time only. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.recorder.done(Number(process.hrtime.bigint() - this.start), this.generation);
  }

  /** @internal Counts an error that was not answered through `respondError()`. */
  countError(text: string): void {
    this.recorder.error(text, this.generation);
  }
}
