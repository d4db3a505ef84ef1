import type { ReadableStream } from 'node:stream/web';
import type { HeadersInit } from '../core/index.js';
import type { StorageType, StreamInfo } from '../jetstream/index.js';
import type { Placement } from '../kv/index.js';

/** Store configuration of `js.createObjectStore()`; durations in milliseconds. */
export interface ObjectStoreOptions {
  /** The store name: `[A-Za-z0-9_-]+`. */
  bucket: string;
  description?: string;
  /** Age after which objects expire, in milliseconds; 0 keeps them forever. @default 0 */
  ttl?: number;
  /** Size limit of the store in bytes; -1 for none. @default -1 */
  maxBytes?: number;
  /** @default 'file' */
  storage?: StorageType;
  /** @default 1 */
  replicas?: number;
  placement?: Placement;
  /** S2-compress the stored chunks; needs nats-server 2.10+. @default false */
  compression?: boolean;
  /** Stream metadata (nats-server 2.10+; older servers ignore it). */
  metadata?: Record<string, string>;
}

/** Where a link points: an object (`name`) or a whole store (no `name`). */
export interface ObjectLink {
  bucket: string;
  name?: string;
}

/** What `put()` takes besides the data, and what `updateMeta()` may change. */
export interface ObjectMeta {
  /** Any non-empty string. */
  name: string;
  description?: string;
  /** HTTP-style headers kept with the object. */
  headers?: HeadersInit;
  metadata?: Record<string, string>;
  /** Chunk size for this object in bytes. @default 131072 */
  maxChunkSize?: number;
}

/** An object's description, as stored in its meta message. */
export interface ObjectInfo {
  /** The store it lives in. */
  bucket: string;
  name: string;
  description?: string;
  headers?: Record<string, string[]>;
  metadata?: Record<string, string>;
  /** Set for links; `maxChunkSize` when the object was put with one. */
  options?: { link?: ObjectLink; maxChunkSize?: number };
  /** The id of its chunk subject (`$O.<bucket>.C.<nuid>`). */
  nuid: string;
  /** Bytes. */
  size: number;
  chunks: number;
  /** `SHA-256=` and the base64url digest of the content; '' for deleted objects and links. */
  digest: string;
  /** When the meta message was stored. */
  mtime: Date;
  deleted: boolean;
  /** The stream sequence of the meta message. */
  revision: number;
}

/** What `get()` resolves: the info and a stream of the content's chunks. */
export interface ObjectResult {
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
  bucket: string;
  description: string;
  /** Milliseconds; 0 means no expiry. */
  ttl: number;
  storage: StorageType;
  replicas: number;
  sealed: boolean;
  /** Bytes stored (chunks and meta). */
  size: number;
  /** Always `'JetStream'`. */
  backingStore: 'JetStream';
  /** The backing stream's name (`OBJ_<bucket>`). */
  streamName: string;
  isCompressed: boolean;
  metadata?: Record<string, string>;
  /** The backing stream's full info. */
  streamInfo: StreamInfo;
}
