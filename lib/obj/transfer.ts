import { createHash } from 'node:crypto';
import { ReadableStream } from 'node:stream/web';
import { ConnectionClosedError } from '../core/internal.js';
import type { JetStreamClient } from '../jetstream/internal.js';
import { ChunkSource, type ChunkRead } from './chunk-source.js';
import { DigestMismatchError } from './errors.js';
import { formatDigest, parseDigest } from './info.js';
import type { ObjectData, ObjectInfo } from './types.js';

const encoder = new TextEncoder();

/** Cuts any `ObjectData` into chunks of exactly `size` bytes (the last may be shorter). */
export async function* chunksOf(data: ObjectData, size: number): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') data = encoder.encode(data);
  if (data instanceof Uint8Array) {
    for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
    return;
  }
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (const item of data as AsyncIterable<Uint8Array | string>) {
    const piece = typeof item === 'string' ? encoder.encode(item) : item;
    let off = 0;
    while (off < piece.length) {
      // Whole chunks straight from the source need no copy: publishing copies them anyway.
      if (fill === 0 && piece.length - off >= size) {
        yield piece.subarray(off, off + size);
        off += size;
        continue;
      }
      const n = Math.min(size - fill, piece.length - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/** What an upload wrote. */
export interface Uploaded {
  size: number;
  chunks: number;
  digest: string;
}

/**
 * Publishes the chunks of `data` to `subject` with up to `window` publish acks outstanding,
 * hashing as it goes; resolves once every chunk is acknowledged. Rejects with the source's error
 * or the first publish error, only once no chunk publish is in flight any more.
 */
export async function upload(
  js: JetStreamClient,
  subject: string,
  data: ObjectData,
  chunkSize: number,
  window: number,
): Promise<Uploaded> {
  const hash = createHash('sha256');
  let size = 0;
  let chunks = 0;
  let pending = 0;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = (): void => {
    pending--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const failed = (err: unknown): void => {
    failure ??= { err: err ?? new Error('chunk publish failed') };
    settled();
  };
  const drainTo = async (limit: number): Promise<void> => {
    while (pending > limit && failure === undefined) await new Promise<void>((r) => (wake = r));
  };
  let sourceFailure: { err: unknown } | undefined;
  try {
    for await (const chunk of chunksOf(data, chunkSize)) {
      if (failure !== undefined) break;
      hash.update(chunk);
      size += chunk.length;
      chunks++;
      pending++;
      js.publish(subject, chunk).then(settled, failed);
      await drainTo(window - 1);
    }
  } catch (err) {
    sourceFailure = { err };
  }
  // Every chunk in flight settles before this returns or throws: the caller purges the chunks
  // of a failed upload, and one stored after that purge would stay in the bucket for good.
  while (pending > 0) await new Promise<void>((r) => (wake = r));
  if (sourceFailure !== undefined) throw sourceFailure.err;
  if (failure !== undefined) throw failure.err;
  return { size, chunks, digest: formatDigest(hash.digest()) };
}

/** A `DigestMismatchError` when size, chunk count or digest disagree with `info`. */
function verify(info: ObjectInfo, digest: Uint8Array, size: number, chunks: number) {
  if (size !== info.size || chunks !== info.chunks) {
    const got = `${size} bytes in ${chunks} chunks`;
    return new DigestMismatchError(info.name, `${info.size} bytes in ${info.chunks} chunks`, got);
  }
  const expected = parseDigest(info.digest);
  if (info.digest !== '' && (expected === undefined || !Buffer.from(expected).equals(digest))) {
    return new DigestMismatchError(info.name, info.digest, formatDigest(digest));
  }
  return undefined;
}

/** Bytes of chunks a download pulls ahead of its reader. */
const PREFETCH_BYTES = 4 * 1024 * 1024;

/**
 * The content of an object as a web stream, read through an ephemeral pull consumer on its chunk
 * subject as the stream is consumed: at most about 4 MiB is pulled ahead of the reader, so memory
 * stays bounded whatever the object's size, and a server restart only pauses the download (see
 * `ChunkSource`). Errors with `DigestMismatchError` at the end when the content does not match
 * `info`.
 */
export async function download(
  js: JetStreamClient,
  stream: string,
  subject: string,
  info: ObjectInfo,
): Promise<ReadableStream<Uint8Array>> {
  const hash = createHash('sha256');
  if (info.chunks === 0) {
    const err = verify(info, hash.digest(), 0, 0);
    return new ReadableStream<Uint8Array>({ start: (c) => (err ? c.error(err) : c.close()) });
  }
  const chunkSize = Math.max(1, Math.ceil(info.size / info.chunks));
  const prefetch = Math.min(info.chunks, Math.max(2, Math.floor(PREFETCH_BYTES / chunkSize)));
  const { source, pending } = await ChunkSource.open(js, stream, subject, Math.min(prefetch, 1000));
  // Chunks that are gone (purged, expired) would otherwise leave the reader waiting forever.
  if (pending === 0) {
    source.close();
    const err = verify(info, hash.digest(), 0, 0);
    return new ReadableStream<Uint8Array>({ start: (c) => c.error(err) });
  }
  let size = 0;
  let chunks = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      let read: ChunkRead;
      try {
        read = await source.next();
      } catch (err) {
        source.close();
        return ctrl.error(err);
      }
      if ('closed' in read) {
        source.close();
        return ctrl.error(new ConnectionClosedError('connection closed while reading an object'));
      }
      const chunk = 'chunk' in read ? read.chunk : undefined;
      if (chunk) {
        hash.update(chunk.data);
        size += chunk.data.length;
        chunks++;
        ctrl.enqueue(chunk.data);
      }
      if (!chunk || chunks >= info.chunks || chunk.metadata.numPending === 0) {
        source.close();
        const err = verify(info, hash.digest(), size, chunks);
        if (err) ctrl.error(err);
        else ctrl.close();
      }
    },
    cancel: () => source.close(),
  });
}

/** Reads a whole stream into one array of `size` bytes (more or fewer is a digest mismatch). */
export async function collect(
  name: string,
  data: ReadableStream<Uint8Array>,
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  for await (const chunk of data) {
    // Throwing ends the loop, which cancels the stream and so stops its consumer.
    if (at + chunk.length > size) {
      throw new DigestMismatchError(name, `${size} bytes`, `more than ${size} bytes`);
    }
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
