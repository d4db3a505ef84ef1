import { MessageContext } from './message.context.js';

type AnyContext = MessageContext<never>;

/**
 * What each message's handler threw, before Nest's exception filters turned it into what a
 * caller gets: recorded by `@JetStreamHandler`'s interceptor and by `NatsExceptionFilter`, keyed
 * by the message's context so it goes with that message.
 */
const thrownIn = new WeakMap<AnyContext, { value: unknown }>();

/** Records `value` as what the handler of `ctx` threw, when `ctx` is one of ours. */
export function recordThrownIn(ctx: unknown, value: unknown): void {
  if (ctx instanceof MessageContext) thrownIn.set(ctx as AnyContext, { value });
}

/**
 * What the handler of `ctx` threw, if it was recorded; else `filtered`, the error as it reached
 * the transport (thrown by a guard or an outer interceptor, or mapped by an exception filter
 * that recorded nothing).
 */
export function originalError(ctx: object, filtered: unknown): unknown {
  const recorded = thrownIn.get(ctx as AnyContext);
  return recorded ? recorded.value : filtered;
}
