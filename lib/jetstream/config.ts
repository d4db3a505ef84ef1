import { DURATION_FIELDS, OPAQUE_FIELDS } from './wire-types.js';

/** How a stream keeps messages. */
export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
/** Where a stream or consumer stores its data. */
export type StorageType = 'file' | 'memory';
export type DiscardPolicy = 'old' | 'new';
export type AckPolicy = 'none' | 'all' | 'explicit';
export type DeliverPolicy =
  'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
export type ReplayPolicy = 'instant' | 'original';

/** A stream source or mirror. */
export interface StreamSource {
  name: string;
  optStartSeq?: number;
  optStartTime?: string;
  filterSubject?: string;
  external?: { api: string; deliver?: string };
  /** Rewrites of the sourced subjects (nats-server 2.10+). */
  subjectTransforms?: SubjectTransform[];
}

/** A subject rewrite: messages matching `src` are stored under `dest`. */
export interface SubjectTransform {
  src: string;
  dest: string;
}

/** Stream configuration; durations in milliseconds. */
export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention?: RetentionPolicy;
  maxConsumers?: number;
  maxMsgs?: number;
  maxBytes?: number;
  /** Milliseconds; 0 keeps messages forever. */
  maxAge?: number;
  maxMsgsPerSubject?: number;
  maxMsgSize?: number;
  discard?: DiscardPolicy;
  storage?: StorageType;
  numReplicas?: number;
  noAck?: boolean;
  /** Milliseconds. */
  duplicateWindow?: number;
  placement?: { cluster?: string; tags?: string[] };
  mirror?: StreamSource;
  sources?: StreamSource[];
  republish?: { src: string; dest: string; headersOnly?: boolean };
  allowDirect?: boolean;
  mirrorDirect?: boolean;
  discardNewPerSubject?: boolean;
  sealed?: boolean;
  denyDelete?: boolean;
  denyPurge?: boolean;
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
  consumerLimits?: { inactiveThreshold?: number; maxAckPending?: number };
}

/** The state of a stream. Timestamps are RFC 3339 strings. */
export interface StreamState {
  messages: number;
  bytes: number;
  firstSeq: number;
  firstTs: string;
  lastSeq: number;
  lastTs: string;
  consumerCount: number;
  numSubjects?: number;
  subjects?: Record<string, number>;
  numDeleted?: number;
  deleted?: number[];
}

/** A server holding a replica of a clustered stream or consumer. */
export interface PeerInfo {
  name: string;
  /** Caught up with the leader. */
  current: boolean;
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
  name?: string;
  leader?: string;
  replicas?: PeerInfo[];
}

/** What `streams.info()` and `streams.add()` resolve. */
export interface StreamInfo {
  config: StreamConfig;
  created: string;
  state: StreamState;
  domain?: string;
  cluster?: ClusterInfo;
  /** True when `add()` actually created the stream (absent on info). */
  didCreate?: boolean;
}

/** Consumer configuration; durations in milliseconds. */
export interface ConsumerConfig {
  name?: string;
  durableName?: string;
  description?: string;
  deliverPolicy?: DeliverPolicy;
  optStartSeq?: number;
  optStartTime?: string;
  /** @default 'explicit' when created through this client */
  ackPolicy?: AckPolicy;
  /** Milliseconds. */
  ackWait?: number;
  maxDeliver?: number;
  /** Redelivery delays in milliseconds. */
  backoff?: number[];
  filterSubject?: string;
  /** Several filters at once (nats-server 2.10+); exclusive with `filterSubject`. */
  filterSubjects?: string[];
  replayPolicy?: ReplayPolicy;
  rateLimitBps?: number;
  sampleFreq?: string;
  maxWaiting?: number;
  maxAckPending?: number;
  /** Milliseconds (push consumers). */
  idleHeartbeat?: number;
  flowControl?: boolean;
  headersOnly?: boolean;
  maxBatch?: number;
  /** Milliseconds. */
  maxExpires?: number;
  maxBytes?: number;
  deliverSubject?: string;
  deliverGroup?: string;
  /** Milliseconds. */
  inactiveThreshold?: number;
  numReplicas?: number;
  memStorage?: boolean;
  /** User metadata (nats-server 2.10+). */
  metadata?: Record<string, string>;
}

/** A position in a consumer's delivery. */
export interface SequenceInfo {
  consumerSeq: number;
  streamSeq: number;
  lastActive?: string;
}

/** What `consumers.info()` and `consumers.add()` resolve. */
export interface ConsumerInfo {
  streamName: string;
  name: string;
  created: string;
  config: ConsumerConfig;
  delivered: SequenceInfo;
  ackFloor: SequenceInfo;
  numAckPending: number;
  numRedelivered: number;
  numWaiting: number;
  numPending: number;
  pushBound?: boolean;
  cluster?: ClusterInfo;
}

/** Account limits as reported by `accountInfo()`. */
export interface AccountLimits {
  maxMemory: number;
  maxStorage: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending?: number;
  memoryMaxStreamBytes?: number;
  storageMaxStreamBytes?: number;
  maxBytesRequired?: boolean;
}

/** JetStream usage and limits of the connected account. */
export interface AccountInfo {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  limits: AccountLimits;
  domain?: string;
  /**
   * API calls made and failed; `level` is the JetStream API level the server implements
   * (nats-server 2.11+: 1 on 2.11, 3 on 2.12, 4 on 2.14), absent on older servers.
   */
  api: { total: number; errors: number; level?: number };
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
