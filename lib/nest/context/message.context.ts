import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHeaders } from '../../core/internal.js';

/**
 * What the handler contexts share: the message a handler was called for, its subject and its
 * headers. `NatsMessageContext` (core messages) and `JetStreamContext` build on it.
 */
export abstract class MessageContext<
  M extends { readonly subject: string; readonly headers: MsgHeaders | undefined },
> extends BaseRpcContext<[M]> {
  constructor(msg: M) {
    super([msg]);
  }

  /** The subject the message was published to (useful with wildcard patterns). */
  getSubject(): string {
    return this.args[0].subject;
  }

  /** The message headers, or undefined when it has none. */
  getHeaders(): MsgHeaders | undefined {
    return this.args[0].headers;
  }

  /** The raw message. */
  getMessage(): M {
    return this.args[0];
  }
}
