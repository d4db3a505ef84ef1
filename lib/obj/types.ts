import type { ReadableStream } from 'node:stream/web';
import type { Placement } from '../buckets/internal.js';
import type { HeadersInit } from '../core/internal.js';
import type { StorageType, StreamInfo } from '../jetstream/internal.js';

export type { Placement };

/** Store configuration of `js.createObjectStore()`; durations in milliseconds. */
export interface ObjectStoreOptions {
  /** The store name: `[A-Za-z0-9_-]+`. */
  bucket: string;
  /** Free text, stored as the backing stream's description. */
  description?: string;
  /** Age after which objects expire, in milliseconds; 0 keeps them forever. @default 0 */
  ttl?: number;
  /** Size limit of the store in bytes; -1 for none. @default -1 */
  maxBytes?: number;
  /** @default 'file' */
  storage?: StorageType;
  /** @default 1 */
  replicas?: number;
  /** Where the backing stream's replicas are placed in a cluster. */
  placement?: Placement;
  /** S2-compress the stored chunks; needs nats-server 2.10+. @default false */
  compression?: boolean;
  /** Stream metadata (nats-server 2.10+; older servers ignore it). */
  metadata?: Record<string, string>;
}

/** Where a link points: an object (`name`) or a whole store (no `name`). */
export interface ObjectLink {
  /** The store the link points into. */
  bucket: string;
  /** The object it points to; absent for a link to the whole store. */
  name?: string;
}

/** What `put()` takes besides the data, and what `updateMeta()` may change. */
export interface ObjectMeta {
  /** Any non-empty string. */
  name: string;
  /** Free text about the object. */
  description?: string;
  /** HTTP-style headers kept with the object. */
  headers?: HeadersInit;
  /** String key/value pairs kept with the object. */
  metadata?: Record<string, string>;
  /** Chunk size for this object in bytes. @default 131072 */
  maxChunkSize?: number;
}

/** An object's description, as stored in its meta message. */
export interface ObjectInfo {
  /** The store it lives in. */
  bucket: string;
  /** The object's name. */
  name: string;
  /** Free text about the object. */
  description?: string;
  /** The headers kept with the object, each name with its values. */
  headers?: Record<string, string[]>;
  /** String key/value pairs kept with the object. */
  metadata?: Record<string, string>;
  /** Set for links; `maxChunkSize` when the object was put with one. */
  options?: {
    /** Where the link points, when this entry is a link. */
    link?: ObjectLink;
    /** The chunk size the object was put with, in bytes. */
    maxChunkSize?: number;
  };
  /** The id of its chunk subject (`$O.<bucket>.C.<nuid>`). */
  nuid: string;
  /** Bytes. */
  size: number;
  /** How many chunk messages hold the content. */
  chunks: number;
  /** `SHA-256=` and the base64url digest of the content; '' for deleted objects and links. */
  digest: string;
  /** When the meta message was stored. */
  mtime: Date;
  /** True when the object was deleted (this is its tombstone). */
  deleted: boolean;
  /** The stream sequence of the meta message. */
  revision: number;
}

/** What `get()` resolves: the info and a stream of the content's chunks. */
export interface ObjectResult {
  /** The object's description. */
  info: ObjectInfo;
  /**
   * The content, read as it is consumed (a web stream, also async-iterable). It errors with
   * `DigestMismatchError` when the bytes do not match the recorded digest and size.
   */
  data: ReadableStream<Uint8Array>;
}

/** Content accepted by `put()`: bytes, a string (UTF-8), or a stream of byte chunks. */
export type ObjectData =
  Uint8Array | string | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

/** Options of `os.watch()`. */
export interface ObjectWatchOptions {
  /** Deliver every stored version first, not only the latest of each name. */
  includeHistory?: boolean;
  /** Skip deleted objects. */
  ignoreDeletes?: boolean;
  /** Deliver only changes made after the watch started. */
  updatesOnly?: boolean;
}

/** What `os.status()` reports. */
export interface ObjectStoreStatus {
  /** The store's name. */
  bucket: string;
  /** The store's description ('' when it has none). */
  description: string;
  /** Milliseconds; 0 means no expiry. */
  ttl: number;
  /** Where the backing stream stores its data. */
  storage: StorageType;
  /** How many servers hold a copy. */
  replicas: number;
  /** True when the store is sealed: it takes no more changes. */
  sealed: boolean;
  /** Bytes stored (chunks and meta). */
  size: number;
  /** Always `'JetStream'`. */
  backingStore: 'JetStream';
  /** The backing stream's name (`OBJ_<bucket>`). */
  streamName: string;
  /** True when the backing stream S2-compresses what it stores. */
  isCompressed: boolean;
  /** The backing stream's metadata, if it has any. */
  metadata?: Record<string, string>;
  /** The backing stream's full info. */
  streamInfo: StreamInfo;
}
