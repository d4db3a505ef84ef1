// Consumer configuration and info, in the camelCase, millisecond form users write and read (the
// server's snake_case, nanosecond JSON is converted by wire-convert.ts). Streams: stream-config.ts.
import type { ClusterInfo } from './stream-config.js';

/**
 * How a consumer expects acks: none, one ack covering every earlier message, or one per message;
 * `'flow_control'` (nats-server 2.14+, for sourcing consumers) acks as `'all'` does, by the
 * replies to flow-control requests.
 */
export type AckPolicy = 'none' | 'all' | 'explicit' | 'flow_control';
/** Where a consumer starts delivering in its stream. */
export type DeliverPolicy =
  'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
/** Whether a consumer delivers as fast as it can (`'instant'`) or at the pace messages were stored. */
export type ReplayPolicy = 'instant' | 'original';
/**
 * How a pull consumer with priority groups picks the pulls it serves (ADR-42): `'overflow'` serves
 * pulls asking `minPending` / `minAckPending` only over those backlogs, `'pinned_client'` serves
 * one client at a time (nats-server 2.11+), `'prioritized'` serves the lowest `priority` first
 * (2.12+).
 */
export type PriorityPolicy = 'none' | 'overflow' | 'pinned_client' | 'prioritized';

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
  /**
   * Delivers nothing until this time (nats-server 2.11+): a Date, or RFC 3339 text. Infos read it
   * back as RFC 3339 text. `consumers.pause()` / `resume()` change it on an existing consumer.
   */
  pauseUntil?: Date | string;
  /** The priority groups pulls must name (`group`), one for now (nats-server 2.11+). */
  priorityGroups?: string[];
  /** How pulls of the priority groups are served (nats-server 2.11+; `'prioritized'` 2.12+). */
  priorityPolicy?: PriorityPolicy;
  /**
   * Milliseconds a `'pinned_client'` may go without pulling before the server pins another
   * client (nats-server 2.11+). @default 120000 (the server's)
   */
  priorityTimeout?: number;
}

/** The state of a priority group, in `ConsumerInfo.priorityGroups`. */
export interface PriorityGroupState {
  /** The group's name. */
  group: string;
  /** The pin id of the client the group is pinned to (`'pinned_client'`), if any. */
  pinnedClientId?: string;
  /** When the group was pinned to it (RFC 3339; the zero time while nobody is pinned). */
  pinnedTs?: string;
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
  /** True while the consumer is paused (`config.pauseUntil` in the future; nats-server 2.11+). */
  paused?: boolean;
  /** Milliseconds until a paused consumer resumes (nats-server 2.11+). */
  pauseRemaining?: number;
  /** The state of each priority group (nats-server 2.11+). */
  priorityGroups?: PriorityGroupState[];
}
