import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHeaders } from '../../core/index.js';
import type { JsMsg, JsMsgMetadata } from '../../jetstream/index.js';

/**
 * The context of a `@JetStreamHandler`: metadata and manual control. A handler that acks, naks
 * or terms by hand keeps the transport from settling the message again.
 */
export class JetStreamContext extends BaseRpcContext<[JsMsg]> {
  constructor(msg: JsMsg) {
    super([msg]);
  }

  getSubject(): string {
    return this.args[0].subject;
  }

  getHeaders(): MsgHeaders | undefined {
    return this.args[0].headers;
  }

  /** Stream, consumer, sequences, delivery count, pending count and timestamp. */
  getMetadata(): JsMsgMetadata {
    return this.args[0].metadata;
  }

  getMessage(): JsMsg {
    return this.args[0];
  }

  ack(): void {
    this.args[0].ack();
  }

  /** Asks for redelivery, after `delay` ms when given. */
  nak(delay?: number): void {
    this.args[0].nak(delay);
  }

  term(reason?: string): void {
    this.args[0].term(reason);
  }

  /** Resets the ack timer (the transport also does this for long handlers). */
  inProgress(): void {
    this.args[0].inProgress();
  }
}
