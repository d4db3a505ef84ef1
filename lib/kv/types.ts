import type { Placement } from '../buckets/internal.js';
import type { StorageType, StreamInfo } from '../jetstream/internal.js';

export type { Placement };

/** What a KV entry records: a value, a delete marker or a purge marker. */
export type KvOperation = 'PUT' | 'DEL' | 'PURGE';

/** One revision of a key. */
export interface KvEntry {
  /** The bucket it belongs to. */
  bucket: string;
  /** The key. */
  key: string;
  /** The value; empty for DEL and PURGE markers and for `metaOnly` watches. */
  value: Uint8Array;
  /** The stream sequence of this revision. */
  revision: number;
  /** When the server stored it. */
  created: Date;
  /** How many newer revisions matched when it was delivered (0 = the latest; 0 for a get). */
  delta: number;
  /** Whether this revision is a value, a delete or a purge. */
  operation: KvOperation;
  /** The value's size; for `metaOnly` watches the size of the stored value. */
  length: number;
  /** The value decoded as UTF-8. */
  string(): string;
  /** The value parsed as JSON. Throws `SyntaxError` when it is not JSON. */
  json<T = unknown>(): T;
}

/** An entry delivered by `watch()`. */
export interface KvWatchEntry extends KvEntry {
  /** False for the initial values, true for changes after them. */
  isUpdate: boolean;
}

/** Bucket configuration of `js.createKeyValue()`; durations in milliseconds. */
export interface KvOptions {
  /** The bucket name: `[A-Za-z0-9_-]+`. */
  bucket: string;
  /** Free text, stored as the backing stream's description. */
  description?: string;
  /** Revisions kept per key, 1 to 64. @default 1 */
  history?: number;
  /** Age after which values expire, in milliseconds; 0 keeps them forever. @default 0 */
  ttl?: number;
  /** Size limit of the bucket in bytes; -1 for none. @default -1 */
  maxBytes?: number;
  /** Size limit of one value in bytes; -1 for none. @default -1 */
  maxValueSize?: number;
  /** @default 'file' */
  storage?: StorageType;
  /** @default 1 */
  replicas?: number;
  /** S2-compress the stored values; needs nats-server 2.10+. @default false */
  compression?: boolean;
  /** Republish every change to `dest` (`src` defaults to the whole bucket). */
  republish?: {
    /** The stream subjects to republish (`$KV.<bucket>.<key filter>`). @default '$KV.<bucket>.>' */
    src?: string;
    /** The subject changes are republished on; may reference the wildcards of `src`. */
    dest: string;
    /** Republish only the headers (with a `Nats-Msg-Size` header) and no value. */
    headersOnly?: boolean;
  };
  /** Where the backing stream's replicas are placed in a cluster. */
  placement?: Placement;
  /** Serve reads from any replica through direct get. @default true */
  allowDirect?: boolean;
  /** Stream metadata (nats-server 2.10+). */
  metadata?: Record<string, string>;
  /**
   * Limit markers (ADR-48), in milliseconds (whole seconds, at least 1000): when a value expires
   * (the bucket's `ttl`, or a key's own TTL from `create(..., { ttl })`) the server leaves a marker
   * that watchers see as a PURGE, kept this long. Also lets `create()` and `purge()` take a `ttl`.
   * Can be turned on for an existing bucket, never off. Needs nats-server 2.11+.
   */
  limitMarkerTtl?: number;
}

/** What `kv.status()` reports. */
export interface KvStatus {
  /** The bucket's name. */
  bucket: string;
  /** Messages in the bucket: values and markers, every revision counted. */
  values: number;
  /** Revisions kept per key. */
  history: number;
  /** Milliseconds; 0 means no expiry. */
  ttl: number;
  /** Bytes stored. */
  bytes: number;
  /** Always `'JetStream'`. */
  backingStore: 'JetStream';
  /** The backing stream's name (`KV_<bucket>`). */
  streamName: string;
  /** Where the backing stream stores its data. */
  storage: StorageType;
  /** How many servers hold a copy. */
  replicas: number;
  /** The bucket's description ('' when it has none). */
  description: string;
  /** True when the backing stream S2-compresses what it stores. */
  isCompressed: boolean;
  /** True when reads may be served by any replica through direct get. */
  allowDirect: boolean;
  /** Milliseconds the bucket keeps limit markers; 0 when it has none (ADR-48). */
  limitMarkerTtl: number;
  /** The backing stream's full info. */
  streamInfo: StreamInfo;
}

/** Options of `kv.watch()`. */
export interface KvWatchOptions {
  /** A key, or a filter with `*` and `>`; all keys when absent. */
  key?: string;
  /** Deliver every stored revision first, not only the latest of each key. */
  includeHistory?: boolean;
  /** Skip DEL and PURGE markers. */
  ignoreDeletes?: boolean;
  /** Deliver only changes made after the watch started. */
  updatesOnly?: boolean;
  /** Deliver entries without their values (headers only). */
  metaOnly?: boolean;
  /** Start at this revision (all revisions from there on). */
  resumeFromRevision?: number;
  /**
   * Idle heartbeat of the watch's consumer in ms: three missed ones (a deleted bucket, a lost
   * consumer) make it start again. @default 5000
   */
  idleHeartbeat?: number;
}

/**
 * A key's own TTL (ADR-48): milliseconds in whole seconds, at least 1000, or `'never'` to keep
 * it past the bucket's `ttl`. Needs nats-server 2.11+ and a bucket with `limitMarkerTtl`; the
 * server raises a TTL shorter than `limitMarkerTtl` to it (with `history` above 1).
 */
export type KvTtl = number | 'never';

/** Options of `kv.create()`. */
export interface KvCreateOptions {
  /** How long the key lives; when it expires watchers see a PURGE. */
  ttl?: KvTtl;
}

/** Options of `kv.purge()`. */
export interface KvPurgeOptions {
  /** Purge only when this is the key's latest revision (`WrongLastRevisionError` otherwise). */
  lastRevision?: number;
  /** How long the purge marker itself is kept; after that the key leaves no trace. */
  ttl?: KvTtl;
}

/** Options of `kv.purgeDeletes()`. */
export interface KvPurgeDeletesOptions {
  /**
   * Markers older than this (milliseconds) are removed with their key; newer ones are kept as
   * the key's only revision. `0` (or a negative value) removes every marker whatever its age, as
   * nats.js does; note that nats.go reads `0` as its 30-minute default instead.
   * @default 1800000 (30 min)
   */
  olderThan?: number;
}
