import { BucketStreams } from '../buckets/internal.js';
import { MsgHeaders, nuid, type HeadersInit } from '../core/internal.js';
import type { ObjectInfo, ObjectLink } from './types.js';

/** The meta message's JSON as other NATS clients write it (ADR-20). */
export interface ObjectInfoWire {
  name: string;
  description?: string;
  headers?: Record<string, string[]>;
  metadata?: Record<string, string>;
  options?: { link?: ObjectLink; max_chunk_size?: number };
  bucket: string;
  nuid: string;
  size: number;
  mtime: string;
  chunks: number;
  digest?: string;
  deleted?: boolean;
}

/** The default chunk size: 128 KiB. */
export const DEFAULT_CHUNK_SIZE = 128 * 1024;

/** The streams behind object stores: `OBJ_<bucket>`, listed by their chunks `$O.<bucket>.C.>`. */
export const objStreams = new BucketStreams('OBJ_', '$O.*.C.>');

/** The meta subject token of a name: base64url of its UTF-8 bytes, with `=` padding. */
export function encodeName(name: string): string {
  const b64 = Buffer.from(name, 'utf8').toString('base64url');
  return b64.padEnd(Math.ceil(b64.length / 4) * 4, '=');
}

/** `SHA-256=` and the base64url (padded) form of a 32-byte digest. */
export function formatDigest(digest: Uint8Array): string {
  return `SHA-256=${Buffer.from(digest).toString('base64url')}=`;
}

/**
 * The 32 bytes of a `SHA-256=...` digest, or undefined when it is not one. Accepts base64url,
 * standard base64 (padded or not) and hex, which older clients wrote.
 */
export function parseDigest(digest: string): Uint8Array | undefined {
  const at = digest.indexOf('=');
  if (at < 0 || digest.slice(0, at).toUpperCase() !== 'SHA-256') return undefined;
  const value = digest.slice(at + 1);
  const bytes = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, 'hex')
    : Buffer.from(value, 'base64');
  return bytes.length === 32 ? new Uint8Array(bytes) : undefined;
}

/** Headers given as `MsgHeaders` or a plain object, as the JSON map `{ name: [values] }`. */
export function headersMap(init: HeadersInit | undefined): Record<string, string[]> | undefined {
  if (init === undefined) return undefined;
  const map = MsgHeaders.from(init).toJSON();
  return Object.keys(map).length ? map : undefined;
}

/** The public form of a meta message. */
export function fromInfoWire(w: ObjectInfoWire, mtime: Date, revision: number): ObjectInfo {
  const info: ObjectInfo = {
    bucket: w.bucket,
    name: w.name,
    nuid: w.nuid,
    size: w.size ?? 0,
    chunks: w.chunks ?? 0,
    digest: w.digest ?? '',
    mtime,
    deleted: w.deleted === true,
    revision,
  };
  if (w.description) info.description = w.description;
  if (w.headers && Object.keys(w.headers).length) info.headers = w.headers;
  if (w.metadata && Object.keys(w.metadata).length) info.metadata = w.metadata;
  const o = w.options;
  if (o && (o.link || o.max_chunk_size)) {
    info.options = {};
    if (o.link) info.options.link = o.link;
    if (o.max_chunk_size) info.options.maxChunkSize = o.max_chunk_size;
  }
  return info;
}

/** The meta message's JSON for an info (mtime is the current time). */
export function toInfoWire(info: Omit<ObjectInfo, 'mtime' | 'revision'>): ObjectInfoWire {
  const w: ObjectInfoWire = {
    name: info.name,
    bucket: info.bucket,
    nuid: info.nuid,
    size: info.size,
    mtime: new Date().toISOString(),
    chunks: info.chunks,
    digest: info.digest,
  };
  if (info.description) w.description = info.description;
  if (info.headers) w.headers = info.headers;
  if (info.metadata) w.metadata = info.metadata;
  if (info.deleted) w.deleted = true;
  const o = info.options;
  if (o?.link || o?.maxChunkSize) {
    w.options = {};
    if (o.link) w.options.link = o.link;
    if (o.maxChunkSize) w.options.max_chunk_size = o.maxChunkSize;
  }
  return w;
}

/** The info of a link named `name` in `bucket`: no content, a fresh nuid, `options.link`. */
export function linkInfo(
  bucket: string,
  name: string,
  link: ObjectLink,
): Omit<ObjectInfo, 'mtime' | 'revision'> {
  return {
    bucket,
    name,
    nuid: nuid.next(),
    size: 0,
    chunks: 0,
    digest: '',
    deleted: false,
    options: { link },
  };
}
