import type { JsMsg, JsMsgMetadata } from '../../jetstream/internal.js';
import { MessageContext } from './message.context.js';

/**
 * The context of a `@JetStreamHandler`: metadata and manual control. A handler that acks, naks
 * or terms by hand keeps the transport from settling the message again.
 */
export class JetStreamContext extends MessageContext<JsMsg> {
  /** Stream, consumer, sequences, delivery count, pending count and timestamp. */
  getMetadata(): JsMsgMetadata {
    return this.args[0].metadata;
  }

  /** Acknowledges the message: it is not delivered again. */
  ack(): void {
    this.args[0].ack();
  }

  /** Asks for redelivery, after `delay` ms when given. */
  nak(delay?: number): void {
    this.args[0].nak(delay);
  }

  /** Stops redelivery (`reason` is sent from nats-server 2.10.4 on). */
  term(reason?: string): void {
    this.args[0].term(reason);
  }

  /** Resets the ack timer (the transport also does this for long handlers). */
  inProgress(): void {
    this.args[0].inProgress();
  }
}
