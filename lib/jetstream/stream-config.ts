// Stream configuration and info, in the camelCase, millisecond form users write and read (the
// server's snake_case, nanosecond JSON is converted by wire-convert.ts). Consumers: consumer-config.ts.

/** How a stream keeps messages. */
export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
/** Where a stream or consumer stores its data. */
export type StorageType = 'file' | 'memory';
/** What a stream at a limit does: drop its oldest messages (`'old'`) or refuse new ones (`'new'`). */
export type DiscardPolicy = 'old' | 'new';
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
  /**
   * Source through a durable push consumer that already exists on the source stream, instead of
   * an ephemeral one the server makes (nats-server 2.14+); excludes `optStartSeq`,
   * `optStartTime` and `filterSubject`.
   */
  consumer?: StreamSourceConsumer;
}

/** The durable consumer a source or mirror reads through (nats-server 2.14+). */
export interface StreamSourceConsumer {
  /** The consumer's durable name. */
  name: string;
  /** The consumer's deliver subject: a literal subject. */
  deliverSubject: string;
}

/** How a stream writes to disk (nats-server 2.12+). */
export type PersistMode = 'default' | 'async';

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
    /** The server that should lead the stream, when it can (nats-server 2.11+). */
    preferred?: string;
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
  /**
   * Lets a publish carry a per-message TTL (`js.publish(..., { ttl })`, the `Nats-TTL` header);
   * cannot be turned off again (nats-server 2.11+). @default false
   */
  allowMsgTtl?: boolean;
  /**
   * Milliseconds, at least 1000: when `maxAge` or a per-message TTL removes the last message of a
   * subject, the server stores a delete marker (header `Nats-Marker-Reason: MaxAge`) that lives
   * this long. The server turns on `allowMsgTtl` and `allowRollupHdrs` with it (nats-server 2.11+).
   */
  subjectDeleteMarkerTtl?: number;
  /** Accepts atomic batch publishes (`js.batch()`; nats-server 2.12+). @default false */
  allowAtomic?: boolean;
  /** Makes the stream hold counters (`js.counter()`; nats-server 2.12+). @default false */
  allowMsgCounter?: boolean;
  /** Accepts message schedules (`js.schedule()`; nats-server 2.12+). @default false */
  allowMsgSchedules?: boolean;
  /**
   * `'async'` acknowledges a publish before it is flushed to disk: faster, but a hard kill may
   * lose acknowledged messages (nats-server 2.12+). @default 'default'
   */
  persistMode?: PersistMode;
  /** Accepts fast (non-atomic) batch publishes (nats-server 2.14+). @default false */
  allowBatched?: boolean;
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
  /** Messages the server found corrupt or missing on disk, when it lost any. */
  lost?: {
    /** Their sequences. */
    msgs: number[] | null;
    /** Their bytes. */
    bytes: number;
  };
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
  /** Assigned to the group but not yet part of it (nats-server 2.14+). */
  pending?: boolean;
}

/** Where a clustered stream or consumer lives: its cluster, leader and other replicas. */
export interface ClusterInfo {
  /** The cluster's name. */
  name?: string;
  /** The name of the server that leads it. */
  leader?: string;
  /** Since when that server leads it (RFC 3339; nats-server 2.11+). */
  leaderSince?: string;
  /** The name of its Raft group. */
  raftGroup?: string;
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
  /** How far the mirror is behind the stream it copies, when the stream is a mirror. */
  mirror?: StreamSourceInfo;
  /** How far each source is behind, when the stream has sources. */
  sources?: StreamSourceInfo[];
  /** When the server gathered this info (RFC 3339). */
  ts?: string;
}

/** The state of a stream's mirror or of one of its sources. */
export interface StreamSourceInfo {
  /** The name of the stream copied from. */
  name: string;
  /** Messages not yet copied. */
  lag: number;
  /** Milliseconds since a message was last copied; negative when none was yet. */
  active: number;
  /** Only messages on this subject are copied. */
  filterSubject?: string;
  /** The subject rewrites applied to what is copied. */
  subjectTransforms?: SubjectTransform[];
  /** The other domain or account of the stream copied from. */
  external?: {
    /** The JetStream API prefix of the other domain or account. */
    api: string;
    /** The subject prefix the copied messages are delivered on. */
    deliver?: string;
  };
  /** Why copying fails, when it does. */
  error?: {
    /** The HTTP-like status code. */
    code: number;
    /** The JetStream API error code (see `JsApiCode`). */
    errCode?: number;
    /** The server's description. */
    description?: string;
  };
}
