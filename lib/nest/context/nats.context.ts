import { BaseRpcContext } from '@nestjs/microservices';
import type { Msg, MsgHeaders } from '../../core/index.js';

/** The context of a core NATS message handler: `@Ctx() ctx: NatsContext`. */
export class NatsContext extends BaseRpcContext<[Msg]> {
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
