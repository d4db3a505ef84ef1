import type { Msg } from '../../core/internal.js';
import { MessageContext } from './message.context.js';

/**
 * The context of a `@MessagePattern` or `@EventPattern` handler: `@Ctx() ctx: NatsMessageContext`.
 * Also exported as `NatsContext`; the distinct name keeps it apart from `@nestjs/microservices`'
 * own `NatsContext`, which compiles in the same place but types `getHeaders()` as `any`.
 */
export class NatsMessageContext extends MessageContext<Msg> {}

export {
  /** The first name of {@link NatsMessageContext}, kept for compatibility: the same class. */
  NatsMessageContext as NatsContext,
};
