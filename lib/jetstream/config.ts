import { DURATION_FIELDS, OPAQUE_FIELDS } from './wire-types.js';

/** How a stream keeps messages. */
export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
/** Where a stream or consumer stores its data. */
export type StorageType = 'file' | 'memory';
/** What a stream at a limit does: drop its oldest messages (`'old'`) or refuse new ones (`'new'`). */
export type DiscardPolicy = 'old' | 'new';
/** How a consumer expects acks: none, one ack covering every earlier message, or one per message. */
export type AckPolicy = 'none' | 'all' | 'explicit';
/** Where a consumer starts delivering in its stream. */
export type DeliverPolicy =
  'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
/** Whether a consumer delivers as fast as it can (`'instant'`) or at the pace messages were stored. */
export type ReplayPolicy = 'instant' | 'original';

/** A stream source or mirror. */
export interface StreamSource {
  /** The name of the stream to copy from. */
  name: string;
  /** The first sequence to copy. */
  optStartSeq?: number;
  /** Copy messages stored at or after this time (RFC 3339). */
  optStartTime?: string;
  /** Copy only messages on this subject (wildcards allowed). */
  filterSubject?: string;
  /** Where the source stream lives when it is in another domain or account: its API and deliver prefixes. */
  external?: {
    /** The JetStream API prefix of the other domain or account (for example `$JS.hub.API`). */
    api: string;
    /** The subject prefix the copied messages are delivered on. */
    deliver?: string;
  };
  /** Rewrites of the sourced subjects (nats-server 2.10+). */
  subjectTransforms?: SubjectTransform[];
}

/** A subject rewrite: messages matching `src` are stored under `dest`. */
export interface SubjectTransform {
  /** The subjects to rewrite (wildcards allowed). */
  src: string;
  /** The subject they become; may reference the wildcards of `src`. */
  dest: string;
}

/**
 * Stream configuration; durations in milliseconds, sizes in bytes. A field left out takes the
 * server's default, and -1 in a limit means no limit.
 */
export interface StreamConfig {
  /** The stream's name: no whitespace, `.`, `*`, `>`, `/` or `\`. */
  name: string;
  /** Free text, up to 4 KiB. */
  description?: string;
  /** The subjects the stream captures (wildcards allowed); the server uses `[name]` when absent. */
  subjects?: string[];
  /** How messages are kept; cannot change after creation. @default 'limits' */
  retention?: RetentionPolicy;
  /** The most consumers the stream may have. @default -1 */
  maxConsumers?: number;
  /** The most messages the stream keeps. @default -1 */
  maxMsgs?: number;
  /** The most bytes the stream keeps. @default -1 */
  maxBytes?: number;
  /** Milliseconds; 0 keeps messages forever. */
  maxAge?: number;
  /** The most messages kept per subject (a KV bucket's history). @default -1 */
  maxMsgsPerSubject?: number;
  /** The largest message the stream accepts, in bytes. @default -1 */
  maxMsgSize?: number;
  /** What happens when a limit is reached. @default 'old' */
  discard?: DiscardPolicy;
  /** Where messages are stored; cannot change after creation. @default 'file' */
  storage?: StorageType;
  /** How many servers hold a copy (1-5; more than 1 needs a cluster). @default 1 */
  numReplicas?: number;
  /** When true the stream stores publishes without answering them with a PubAck. @default false */
  noAck?: boolean;
  /** Milliseconds. */
  duplicateWindow?: number;
  /** Where a clustered stream is placed. */
  placement?: {
    /** The cluster to place the stream in. */
    cluster?: string;
    /** Server tags the chosen servers must have. */
    tags?: string[];
  };
  /** Makes the stream a read-only copy of another stream (and then it has no `subjects`). */
  mirror?: StreamSource;
  /** Streams whose messages are copied into this one. */
  sources?: StreamSource[];
  /** Republishes every stored message matching `src` to `dest`. */
  republish?: {
    /** The stored subjects to republish (wildcards allowed). */
    src: string;
    /** The subject they are republished on; may reference the wildcards of `src`. */
    dest: string;
    /** Republish only the headers (with a `Nats-Msg-Size` header) and no payload. */
    headersOnly?: boolean;
  };
  /** Lets every replica answer direct gets (faster reads, no read-after-write guarantee). @default false */
  allowDirect?: boolean;
  /** Lets a mirror answer direct gets for the stream it mirrors. @default false */
  mirrorDirect?: boolean;
  /**
   * With `discard: 'new'` and `maxMsgsPerSubject`, refuses a new message on a subject that is at
   * its limit. @default false
   */
  discardNewPerSubject?: boolean;
  /** A sealed stream takes no new messages, deletes or purges; set by update only, for good. */
  sealed?: boolean;
  /** Forbids deleting single messages; cannot be turned off again. @default false */
  denyDelete?: boolean;
  /** Forbids purging; cannot be turned off again. @default false */
  denyPurge?: boolean;
  /** Lets a publish carry a `Nats-Rollup` header that purges earlier messages. @default false */
  allowRollupHdrs?: boolean;
  /** User metadata (nats-server 2.10+; 2.11+ adds `_nats.*` entries of its own). */
  metadata?: Record<string, string>;
  /** Storage compression (nats-server 2.10+). */
  compression?: 'none' | 's2';
  /** The sequence of the first message stored (nats-server 2.10+, at creation only). */
  firstSeq?: number;
  /** Rewrites the subjects of stored messages (nats-server 2.10+). */
  subjectTransform?: SubjectTransform;
  /** Limits that every consumer of the stream gets (nats-server 2.10+); milliseconds. */
  consumerLimits?: {
    /** Milliseconds of inactivity after which a consumer is removed, at most. */
    inactiveThreshold?: number;
    /** The highest `maxAckPending` a consumer may have. */
    maxAckPending?: number;
  };
}

/** The state of a stream. Timestamps are RFC 3339 strings. */
export interface StreamState {
  /** Messages stored. */
  messages: number;
  /** Bytes stored. */
  bytes: number;
  /** The sequence of the oldest stored message. */
  firstSeq: number;
  /** When the oldest stored message was stored (`0001-01-01T00:00:00Z` when empty). */
  firstTs: string;
  /** The sequence of the newest stored message. */
  lastSeq: number;
  /** When the newest stored message was stored (`0001-01-01T00:00:00Z` when empty). */
  lastTs: string;
  /** How many consumers the stream has. */
  consumerCount: number;
  /** How many distinct subjects the stored messages have. */
  numSubjects?: number;
  /** Messages per subject; only when asked for with `info(name, { subjectsFilter })`. */
  subjects?: Record<string, number>;
  /** How many messages between the first and last sequence were deleted. */
  numDeleted?: number;
  /** The deleted sequences, when the server lists them. */
  deleted?: number[];
}

/** A server holding a replica of a clustered stream or consumer. */
export interface PeerInfo {
  /** The server's name. */
  name: string;
  /** Caught up with the leader. */
  current: boolean;
  /** True when the server is offline. */
  offline?: boolean;
  /** Milliseconds since the leader last heard from it. */
  active: number;
  /** Operations it is behind the leader. */
  lag?: number;
  /** The server's peer id (a hash of its name). */
  peer?: string;
}

/** Where a clustered stream or consumer lives: its cluster, leader and other replicas. */
export interface ClusterInfo {
  /** The cluster's name. */
  name?: string;
  /** The name of the server that leads it. */
  leader?: string;
  /** The replicas other than the leader. */
  replicas?: PeerInfo[];
}

/** What `streams.info()` and `streams.add()` resolve. */
export interface StreamInfo {
  /** The stream's configuration, with the server's defaults filled in. */
  config: StreamConfig;
  /** When the stream was created (RFC 3339). */
  created: string;
  /** Its messages, sequences and consumers now. */
  state: StreamState;
  /** The JetStream domain it lives in, if any. */
  domain?: string;
  /** Its cluster placement, when clustered. */
  cluster?: ClusterInfo;
  /** True when `add()` actually created the stream (absent on info). */
  didCreate?: boolean;
}

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

/** Account limits as reported by `accountInfo()`; -1 means no limit, sizes in bytes. */
export interface AccountLimits {
  /** Bytes of memory storage the account may use. */
  maxMemory: number;
  /** Bytes of file storage the account may use. */
  maxStorage: number;
  /** The most streams the account may have. */
  maxStreams: number;
  /** The most consumers the account may have. */
  maxConsumers: number;
  /** The highest `maxAckPending` a consumer may have. */
  maxAckPending?: number;
  /** The largest `maxBytes` a memory stream may have. */
  memoryMaxStreamBytes?: number;
  /** The largest `maxBytes` a file stream may have. */
  storageMaxStreamBytes?: number;
  /** True when every stream must set `maxBytes`. */
  maxBytesRequired?: boolean;
}

/** JetStream usage and limits of the connected account. */
export interface AccountInfo {
  /** Bytes of memory storage in use. */
  memory: number;
  /** Bytes of file storage in use. */
  storage: number;
  /** How many streams the account has. */
  streams: number;
  /** How many consumers the account has. */
  consumers: number;
  /** What the account may use. */
  limits: AccountLimits;
  /** The JetStream domain of the server, if any. */
  domain?: string;
  /**
   * API calls made and failed; `level` is the JetStream API level the server implements
   * (nats-server 2.11+: 1 on 2.11, 3 on 2.12, 4 on 2.14), absent on older servers.
   */
  api: {
    /** API calls the account made. */
    total: number;
    /** API calls that failed. */
    errors: number;
    /** The JetStream API level of the server (nats-server 2.11+). */
    level?: number;
  };
}

const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function convert(
  value: unknown,
  rename: (k: string) => string,
  duration: (v: number) => number,
  isDuration: (k: string) => boolean,
  isOpaque: (k: string) => boolean,
): unknown {
  if (Array.isArray(value))
    return value.map((v) => convert(v, rename, duration, isDuration, isOpaque));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const name = rename(key);
    if (isOpaque(key)) out[name] = v;
    else if (isDuration(key) && typeof v === 'number') out[name] = duration(v);
    else if (isDuration(key) && Array.isArray(v))
      out[name] = v.map((d) => (typeof d === 'number' ? duration(d) : d));
    else out[name] = convert(v, rename, duration, isDuration, isOpaque);
  }
  return out;
}

/** Milliseconds to whole nanoseconds. */
export const msToNs = (ms: number): number => Math.round(ms * 1_000_000);
/** Nanoseconds to milliseconds. */
export const nsToMs = (ns: number): number => ns / 1_000_000;

/** A camelCase public object (durations in ms) as the server's snake_case JSON (ns). */
export function toWire(value: object): Record<string, unknown> {
  return convert(
    value,
    toSnake,
    msToNs,
    (k) => DURATION_FIELDS.has(toSnake(k)),
    (k) => OPAQUE_FIELDS.has(k),
  ) as Record<string, unknown>;
}

/** The server's snake_case JSON (ns) as a camelCase public object (ms). */
export function fromWire<T>(value: unknown): T {
  return convert(
    value,
    toCamel,
    nsToMs,
    (k) => DURATION_FIELDS.has(k),
    (k) => OPAQUE_FIELDS.has(k),
  ) as T;
}
