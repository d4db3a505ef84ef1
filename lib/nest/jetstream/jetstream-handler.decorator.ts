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
  /**
   * Who dead-letters a message to `deadLetterSubject`. `'handler'`: the handler's last failed
   * delivery publishes it with the error, then terms it. `'advisory'`: the server's
   * MAX_DELIVERIES and MSG_TERMINATED advisories do (also for a handler that hung or an instance
   * that died on the last delivery, and for terms); one instance reads the original by its
   * sequence and stores it with the reason. Needs a stream that takes `deadLetterSubject`.
   * @default 'handler'
   */
  deadLetter?: 'handler' | 'advisory';
  /** Any other consumer settings, passed through. */
  consumer?: Partial<ConsumerConfig>;
  /**
   * Exactly one app instance processes the stream at a time, in order: the consumer gets a
   * `pinned_client` priority group (`exclusive`), every instance pulls in it and the server
   * serves only the pinned one. When it dies, a standby takes over within `priorityTimeout`; when
   * its handler hangs past `handlerTimeout`, at once; either way it goes on after the last acked
   * message. Processes one message at a time
   * (no `concurrency`); `maxAckPending` defaults to 1 and `ackWait` to `priorityTimeout`.
   * An existing consumer without the group is refused (`ProvisioningError`), never changed.
   * Needs nats-server 2.11+ (`FeatureNotSupportedError` at start-up).
   */
  exclusive?: boolean;
  /**
   * Exclusive and partitioned handlers: how long the server waits for the pinned instance's next
   * pull before it pins another, ms (at least 1000). @default 5000
   */
  priorityTimeout?: number;
  /**
   * Exclusive and partitioned handlers: how long a handler may run, from its start or its last
   * `ctx.inProgress()`, before this instance takes it as hung and hands the pin (and the message)
   * to a standby, ms (at least 1000). The transport keeps the message from being redelivered
   * meanwhile. Raise it for handlers that are slow but alive. @default the ack wait
   */
  handlerTimeout?: number;
  /**
   * Splits the stream into this many partitions by the `partitionBy` tokens of the subject,
   * each processed in order by one instance at a time, and spreads them over the running
   * instances (see the README, "Partitioned handlers"). The stream gets the subject transform
   * `{{partition(N,...)}}.<subject>`, so its stored subjects start with the partition number;
   * each partition has its own exclusive consumer `<durable>-<n>`. Needs nats-server 2.11+.
   */
  partitions?: number;
  /**
   * The wildcard tokens of the handler's subject whose values pick the partition, by position
   * among the subject's wildcards (1 for the first `*`). @default every `*` of the subject
   */
  partitionBy?: number | number[];
  /**
   * Partitioned handlers: the KV bucket where instances keep their membership leases, and how
   * long a lease lasts without renewal (ms). @default { bucket: 'nestjs_nats_members', ttl: 6000 }
   */
  membership?: {
    /** The KV bucket of the leases. @default 'nestjs_nats_members' */
    bucket?: string;
    /** How long a lease lasts without renewal, ms. @default 6000 */
    ttl?: number;
  };
  /**
   * The consumer gets an `overflow` priority group: instances with `helper: true` pull with
   * `minPending`, so the server serves them only while at least that many messages wait; the
   * others are always served. Needs nats-server 2.11+.
   */
  overflow?: {
    /** A helper is served only while at least this many messages wait. */
    minPending: number;
    /** This instance is a helper (pulls with `minPending`). @default false */
    helper?: boolean;
  };
}

/**
 * Default `priorityTimeout` of an exclusive handler, ms: the longest a standby waits before it
 * takes over from an instance that died. The pinned instance renews its pull at least twice
 * within it (every half of it), so one slow round trip or a short GC pause does not move the
 * pin, while a crash is handed over in seconds rather than after the 30 s default ack wait.
 */
export const DEFAULT_PRIORITY_TIMEOUT = 5000;

/** The handler is exclusive: declared so, or one partition of a partitioned handler. */
export function isPinned(opts: JetStreamHandlerOptions): boolean {
  return opts.exclusive === true || opts.partitions !== undefined;
}

/** The priority timeout an exclusive handler's consumer gets. */
export function priorityTimeoutOf(opts: JetStreamHandlerOptions): number {
  return opts.priorityTimeout ?? DEFAULT_PRIORITY_TIMEOUT;
}

/**
 * An exclusive handler's defaults that keep it in order across a handover: one
 * unacked message at a time, and an ack wait of `priorityTimeout` so the message a dead instance
 * left unacked comes back as the pin moves (a handler may run longer, up to `handlerTimeout`, kept
 * alive with in-progress acks; past it, it is taken as hung and the pin moves).
 */
export function withPriorityDefaults(opts: JetStreamHandlerOptions): JetStreamHandlerOptions {
  if (!isPinned(opts)) return opts;
  return {
    ...opts,
    maxAckPending: opts.maxAckPending ?? 1,
    ...(opts.ackWait === undefined && opts.backoff === undefined
      ? { ackWait: priorityTimeoutOf(opts) }
      : {}),
  };
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
      [JETSTREAM_HANDLER]: withPriorityDefaults({
        ...options,
        filterSubject: options.filterSubject ?? subject,
      }),
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
