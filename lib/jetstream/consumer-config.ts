// Consumer configuration and info, in the camelCase, millisecond form users write and read (the
// server's snake_case, nanosecond JSON is converted by wire-convert.ts). Streams: stream-config.ts.
import type { ClusterInfo } from './stream-config.js';

/** How a consumer expects acks: none, one ack covering every earlier message, or one per message. */
export type AckPolicy = 'none' | 'all' | 'explicit';
/** Where a consumer starts delivering in its stream. */
export type DeliverPolicy =
  'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
/** Whether a consumer delivers as fast as it can (`'instant'`) or at the pace messages were stored. */
export type ReplayPolicy = 'instant' | 'original';

/** Consumer configuration; durations in milliseconds, sizes in bytes. */
export interface ConsumerConfig {
  /** The consumer's name (nats-server 2.9+); the server makes one up for an ephemeral without it. */
  name?: string;
  /** Makes the consumer durable: it stays when nobody consumes (unless `inactiveThreshold` is set). */
  durableName?: string;
  /** Free text, up to 4 KiB. */
  description?: string;
  /** Where delivery starts. @default 'all' */
  deliverPolicy?: DeliverPolicy;
  /** The first stream sequence to deliver, with `deliverPolicy: 'by_start_sequence'`. */
  optStartSeq?: number;
  /** Deliver from this time on (RFC 3339), with `deliverPolicy: 'by_start_time'`. */
  optStartTime?: string;
  /** @default 'explicit' when created through this client */
  ackPolicy?: AckPolicy;
  /** Milliseconds. */
  ackWait?: number;
  /** How many times a message is delivered at most; -1 for no limit. @default -1 */
  maxDeliver?: number;
  /** Redelivery delays in milliseconds. */
  backoff?: number[];
  /** Deliver only messages on this subject (wildcards allowed; within the stream's subjects). */
  filterSubject?: string;
  /** Several filters at once (nats-server 2.10+); exclusive with `filterSubject`. */
  filterSubjects?: string[];
  /** The pace of delivery. @default 'instant' */
  replayPolicy?: ReplayPolicy;
  /** Caps delivery at this many bits per second (push consumers). */
  rateLimitBps?: number;
  /** The share of acks the server reports in advisories, for example `'100%'`. */
  sampleFreq?: string;
  /** The most pull requests that may wait at once (pull consumers). @default 512 */
  maxWaiting?: number;
  /** The most messages delivered and not yet acked; -1 for no limit. @default 1000 */
  maxAckPending?: number;
  /** Milliseconds (push consumers). */
  idleHeartbeat?: number;
  /** Lets the server pace a push consumer by flow-control requests; needs `idleHeartbeat`. */
  flowControl?: boolean;
  /** Deliver only the headers, with a `Nats-Msg-Size` header, and no payload. */
  headersOnly?: boolean;
  /** The largest batch a pull request may ask for (pull consumers). */
  maxBatch?: number;
  /** Milliseconds. */
  maxExpires?: number;
  /** The largest byte budget a pull request may ask for (pull consumers). */
  maxBytes?: number;
  /** The subject a push consumer delivers to; a consumer without one is a pull consumer. */
  deliverSubject?: string;
  /** The queue group that shares a push consumer's deliveries. */
  deliverGroup?: string;
  /** Milliseconds. */
  inactiveThreshold?: number;
  /** How many replicas keep the consumer's state; 0 takes the stream's. @default 0 */
  numReplicas?: number;
  /** Keep the consumer's state in memory whatever the stream's storage. @default false */
  memStorage?: boolean;
  /** User metadata (nats-server 2.10+). */
  metadata?: Record<string, string>;
}

/** A position in a consumer's delivery. */
export interface SequenceInfo {
  /** The consumer sequence (counts every delivery, redeliveries too). */
  consumerSeq: number;
  /** The stream sequence of the message at that position. */
  streamSeq: number;
  /** When the consumer last moved here (RFC 3339). */
  lastActive?: string;
}

/** What `consumers.info()` and `consumers.add()` resolve. */
export interface ConsumerInfo {
  /** The stream the consumer reads. */
  streamName: string;
  /** The consumer's name. */
  name: string;
  /** When it was created (RFC 3339). */
  created: string;
  /** Its configuration, with the server's defaults filled in. */
  config: ConsumerConfig;
  /** The last message delivered. */
  delivered: SequenceInfo;
  /** The position up to which every message is acked. */
  ackFloor: SequenceInfo;
  /** Messages delivered and waiting for an ack. */
  numAckPending: number;
  /** Messages waiting for an ack that were delivered more than once. */
  numRedelivered: number;
  /** Pull requests waiting for messages. */
  numWaiting: number;
  /** Messages in the stream (after the filter) not delivered yet. */
  numPending: number;
  /** True when a push consumer's deliver subject has a subscriber. */
  pushBound?: boolean;
  /** Its cluster placement, when clustered. */
  cluster?: ClusterInfo;
}
