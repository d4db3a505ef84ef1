import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHeaders } from '../../core/internal.js';
import type { JsMsg, JsMsgMetadata } from '../../jetstream/internal.js';

/**
 * The context of a `@JetStreamHandler`: metadata and manual control. A handler that acks, naks
 * or terms by hand keeps the transport from settling the message again.
 */
export class JetStreamContext extends BaseRpcContext<[JsMsg]> {
  constructor(msg: JsMsg) {
    super([msg]);
  }

  /** The subject the message was published to. */
  getSubject(): string {
    return this.args[0].subject;
  }

  /** The message headers, or undefined when it has none. */
  getHeaders(): MsgHeaders | undefined {
    return this.args[0].headers;
  }

  /** Stream, consumer, sequences, delivery count, pending count and timestamp. */
  getMetadata(): JsMsgMetadata {
    return this.args[0].metadata;
  }

  /** The raw JetStream message. */
  getMessage(): JsMsg {
    return this.args[0];
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
