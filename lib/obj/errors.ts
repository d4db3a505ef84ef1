import { ErrorCode, JetStreamApiError, JsApiCode, NatsError } from '../core/internal.js';

/** The object does not exist in the store (or is deleted). */
export class ObjectNotFoundError extends NatsError {
  constructor(
    /** The store that was searched. */
    readonly bucket: string,
    /** The name of the missing object. */
    readonly objectName: string,
  ) {
    super(
      ErrorCode.OBJECT_NOT_FOUND,
      `object ${JSON.stringify(objectName)} not found in ${bucket}`,
    );
  }
}

/** An object's content does not match its recorded SHA-256 digest, size or chunk count. */
export class DigestMismatchError extends NatsError {
  constructor(
    /** The name of the corrupt object. */
    readonly objectName: string,
    /** The recorded digest (`SHA-256=...`). */
    readonly expected: string,
    /** The digest of the bytes read, or a description of what did not match. */
    readonly actual: string,
  ) {
    super(
      ErrorCode.DIGEST_MISMATCH,
      `object ${JSON.stringify(objectName)} is corrupt: expected ${expected}, read ${actual}`,
    );
  }
}

/** The store is sealed: it cannot be written to any more (the server answered 10109). */
export class StoreSealedError extends JetStreamApiError {
  constructor(
    /** The sealed store's name. */
    readonly bucket: string,
  ) {
    super(
      `object store ${JSON.stringify(bucket)} is sealed`,
      JsApiCode.STREAM_SEALED,
      400,
      ErrorCode.STORE_SEALED,
    );
  }
}

/** A rename or link would replace a live object of the target name. */
export class ObjectExistsError extends NatsError {
  constructor(
    /** The store the object lives in. */
    readonly bucket: string,
    /** The name that is taken. */
    readonly objectName: string,
  ) {
    super(
      ErrorCode.OBJECT_EXISTS,
      `object ${JSON.stringify(objectName)} already exists in ${bucket}`,
    );
  }
}

/**
 * A link is not usable: a link to a deleted object or to another link, a link given as
 * `put()` metadata, or a bucket link read as an object.
 */
export class InvalidLinkError extends NatsError {
  constructor(message: string) {
    super(ErrorCode.INVALID_LINK, message);
  }
}

/** An object name is empty, or the object metadata is not valid. */
export class InvalidObjectNameError extends NatsError {
  constructor(name: string) {
    super(ErrorCode.INVALID_OBJECT_NAME, `invalid object name ${JSON.stringify(name)}`);
  }
}

/** Maps the server's "sealed stream" refusal (10109) to `StoreSealedError`. */
export function sealedError(err: unknown, bucket: string): unknown {
  return err instanceof JetStreamApiError && err.apiCode === JsApiCode.STREAM_SEALED
    ? new StoreSealedError(bucket)
    : err;
}
