import {
  ErrorCode,
  JetStreamApiError,
  JsApiCode,
  NatsError,
  NoRespondersError,
  TimeoutError,
} from '../core/internal.js';
import { askAgainIfSlow, type StreamsApi } from '../jetstream/internal.js';

/** A KV bucket or object store name is not `[A-Za-z0-9_-]+`. */
export class InvalidBucketNameError extends NatsError {
  constructor(
    /** The rejected name. */
    readonly bucket: string,
  ) {
    super(
      ErrorCode.INVALID_BUCKET_NAME,
      `invalid bucket name ${JSON.stringify(bucket)}: use only A-Z, a-z, 0-9, '_' and '-'`,
    );
  }
}

/** The KV bucket or object store does not exist (its stream answered 10059). */
export class BucketNotFoundError extends JetStreamApiError {
  constructor(
    /** The name of the missing bucket or store. */
    readonly bucket: string,
  ) {
    super(
      `bucket ${JSON.stringify(bucket)} not found`,
      JsApiCode.STREAM_NOT_FOUND,
      404,
      ErrorCode.BUCKET_NOT_FOUND,
    );
  }
}

/** Maps a stream-not-found error of the bucket's stream to `BucketNotFoundError`. */
export function bucketNotFound(err: unknown, bucket: string): unknown {
  return err instanceof JetStreamApiError && err.apiCode === JsApiCode.STREAM_NOT_FOUND
    ? new BucketNotFoundError(bucket)
    : err;
}

/**
 * Sends `send(timeout)`, a read on the bucket's stream. A deleted stream's direct-get subject
 * still reaches the JetStream API, which never answers it, so a get on a deleted bucket would
 * hang for the whole API timeout: a slow first try makes one stream info ask the server, and a
 * "stream not found" rejects at once with `BucketNotFoundError`.
 */
export function unlessBucketGone<T>(
  send: (timeout: number) => Promise<T>,
  streams: StreamsApi,
  stream: string,
  bucket: string,
  timeout: number,
): Promise<T> {
  return askAgainIfSlow(send, timeout, async () => {
    const gone = await bucketGone(streams, stream, bucket);
    if (gone) throw gone;
    return undefined; // not gone, or the probe failed and says nothing: ask again
  });
}

/**
 * A request on a bucket that nobody answered (no stream took a write; a direct get timed out,
 * since a deleted stream's direct-get subject still reaches the JetStream API, which stays
 * silent) usually means the bucket was deleted. Asks the server: `BucketNotFoundError` if so,
 * else `err` unchanged.
 */
export async function explainUnanswered(
  streams: StreamsApi,
  stream: string,
  bucket: string,
  err: unknown,
): Promise<unknown> {
  if (!(err instanceof NoRespondersError || err instanceof TimeoutError)) return err;
  return (await bucketGone(streams, stream, bucket)) ?? err;
}

/**
 * Asks the server whether the bucket's stream exists: `BucketNotFoundError` when it does not,
 * undefined when it does or when the question itself failed.
 */
async function bucketGone(
  streams: StreamsApi,
  stream: string,
  bucket: string,
): Promise<BucketNotFoundError | undefined> {
  try {
    await streams.info(stream);
    return undefined;
  } catch (err) {
    const missing = bucketNotFound(err, bucket);
    return missing === err ? undefined : (missing as BucketNotFoundError);
  }
}
