import type { JsMsg, JsMsgMetadata } from '../../jetstream/internal.js';
import { MessageContext } from './message.context.js';

/** How the transport follows a handler (the hang watchdog of exclusive handlers). */
export interface HandlerWatch {
  /** Aborted when the message was handed to another instance. */
  readonly signal: AbortSignal;
  /** The handler said it is still working (`inProgress()`). */
  progress(): void;
}

/**
 * The context of a `@JetStreamHandler`: metadata and manual control. A handler that acks, naks
 * or terms by hand keeps the transport from settling the message again.
 */
export class JetStreamContext extends MessageContext<JsMsg> {
  private idle: AbortSignal | undefined;

  /** @internal Made by the transport for each message. */
  constructor(
    msg: JsMsg,
    private readonly watch?: HandlerWatch,
  ) {
    super(msg);
  }

  /**
   * Aborted when this instance gave the message up while the handler still ran: an exclusive
   * handler that did not settle within its `handlerTimeout` has its message handed to another instance
   * (stop what must not be done twice); `ack()`, `nak()`, `term()` and `inProgress()` do
   * nothing from then on. Never aborted for other handlers.
   */
  get signal(): AbortSignal {
    return this.watch?.signal ?? (this.idle ??= new AbortController().signal);
  }

  /** The message while it is this instance's to settle (not after it was handed over). */
  private get own(): JsMsg | undefined {
    return this.watch?.signal.aborted ? undefined : this.args[0];
  }

  /** Stream, consumer, sequences, delivery count, pending count and timestamp. */
  getMetadata(): JsMsgMetadata {
    return this.args[0].metadata;
  }

  /** Acknowledges the message: it is not delivered again. */
  ack(): void {
    this.own?.ack();
  }

  /** Asks for redelivery, after `delay` ms when given. */
  nak(delay?: number): void {
    this.own?.nak(delay);
  }

  /** Stops redelivery (`reason` is sent from nats-server 2.10.4 on). */
  term(reason?: string): void {
    this.own?.term(reason);
  }

  /**
   * Resets the ack timer (the transport also does this for long handlers). An exclusive handler
   * that runs longer than its `handlerTimeout` (default the ack wait) must call it: otherwise it is
   * taken as hung and its message handed to another instance.
   */
  inProgress(): void {
    this.own?.inProgress();
    this.watch?.progress();
  }
}
