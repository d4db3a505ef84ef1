import { BaseRpcContext } from '@nestjs/microservices';
import type { Msg, MsgHeaders } from '../../core/internal.js';

/**
 * The context of a `@MessagePattern` or `@EventPattern` handler: `@Ctx() ctx: NatsMessageContext`.
 * Also exported as `NatsContext`; the distinct name keeps it apart from `@nestjs/microservices`'
 * own `NatsContext`, which compiles in the same place but types `getHeaders()` as `any`.
 */
export class NatsMessageContext extends BaseRpcContext<[Msg]> {
  constructor(msg: Msg) {
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

  /** The raw NATS message. */
  getMessage(): Msg {
    return this.args[0];
  }
}

export {
  /** The first name of {@link NatsMessageContext}, kept for compatibility: the same class. */
  NatsMessageContext as NatsContext,
};
