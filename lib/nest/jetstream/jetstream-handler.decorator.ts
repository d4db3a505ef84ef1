import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { MessagePattern, type MessageHandler } from '@nestjs/microservices';
import type { ConsumerConfig, DeliverPolicy } from '../../jetstream/internal.js';
import { recordThrown } from './handler-error.js';

/** Marks a handler's extras as a JetStream consumer rather than a core subscription. */
export const JETSTREAM_HANDLER = 'nestjs-nats:jetstream';

/** Options of `@JetStreamHandler()`: the durable pull consumer and how messages are settled. */
export interface JetStreamHandlerOptions {
  /** The stream to consume from. */
  stream: string;
  /** Durable consumer name (created or updated at start-up). */
  durable: string;
  /** Where a new consumer starts. @default 'all' */
  deliverPolicy?: DeliverPolicy;
  /** Time the server waits for an ack before redelivering, ms. @default 30000 */
  ackWait?: number;
  /** Deliveries before the server gives up on a message. @default 5 */
  maxDeliver?: number;
  /**
   * Server-side redelivery delays for unacked messages, ms. The server then uses `backoff[0]` as
   * the ack wait (whatever `ackWait` says), and slow handlers are kept alive accordingly.
   */
  backoff?: number[];
  /** Subject filter of the consumer. @default the handler's subject */
  filterSubject?: string;
  /** Messages handled at once by this handler. @default 1 */
  concurrency?: number;
  /** Unacked messages the server allows in flight. @default 1000 */
  maxAckPending?: number;
  /**
   * Delay of the nak after a thrown error, from the delivery count (1 for the first attempt).
   * @default 1000 ms doubled per delivery, at most 60000 ms
   */
  retryDelay?: number | ((numDelivered: number) => number);
  /** After the last allowed delivery fails, the message and its error are published here. */
  deadLetterSubject?: string;
  /** Any other consumer settings, passed through. */
  consumer?: Partial<ConsumerConfig>;
}

/**
 * A durable JetStream consumer handler: success acks, a thrown error naks with a growing delay,
 * `TermException` terms, and slow handlers are kept alive with in-progress acks.
 *
 * It also installs an interceptor, next to the method, that records what the handler throws
 * before Nest's exception filters rewrite it, so the `settled` event, the logs and the
 * dead-letter headers report the original error (see `HandlerError`).
 */
export function JetStreamHandler(
  subject: string,
  options: JetStreamHandlerOptions,
): MethodDecorator {
  return applyDecorators(
    MessagePattern<string>(subject, {
      [JETSTREAM_HANDLER]: { ...options, filterSubject: options.filterSubject ?? subject },
    }),
    UseInterceptors(recordThrown),
  );
}

/** What `@JetStreamHandler()` declared on a handler; undefined for a core handler. */
export function jetStreamOptionsOf(
  handler: Pick<MessageHandler, 'extras'>,
): JetStreamHandlerOptions | undefined {
  return (handler.extras as Record<string, JetStreamHandlerOptions | undefined> | undefined)?.[
    JETSTREAM_HANDLER
  ];
}
