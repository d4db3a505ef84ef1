import { ErrorCode, JetStreamApiError, JsApiCode, NatsError } from '../core/internal.js';

/** A key (or a watch/keys filter) breaks the naming rules; `reason` says which. */
export class InvalidKeyError extends NatsError {
  constructor(
    /** The rejected key or filter. */
    readonly key: string,
    reason: string,
  ) {
    super(ErrorCode.INVALID_KEY, `invalid key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** `kv.create()` found a live value under the key (the server answered 10071 or 10164). */
export class KeyExistsError extends JetStreamApiError {
  constructor(
    /** The key that already has a value. */
    readonly key: string,
    apiCode: number,
  ) {
    super(`key ${JSON.stringify(key)} already exists`, apiCode, 400, ErrorCode.KEY_EXISTS);
  }
}

/**
 * `kv.update()`, or a delete/purge with `lastRevision`, found another revision as the latest of
 * the key (the server answered 10071 or 10164, "wrong last sequence").
 */
export class WrongLastRevisionError extends JetStreamApiError {
  constructor(
    /** The key whose latest revision was not the expected one. */
    readonly key: string,
    message: string,
    apiCode: number,
  ) {
    super(`key ${JSON.stringify(key)}: ${message}`, apiCode, 400, ErrorCode.WRONG_LAST_REVISION);
  }
}

/** The server's "wrong last sequence" codes: 10071, and 10164 on 2.11+ for a missing subject. */
export function isWrongLastSequence(err: unknown): err is JetStreamApiError {
  return (
    err instanceof JetStreamApiError &&
    (err.apiCode === JsApiCode.WRONG_LAST_SEQUENCE ||
      err.apiCode === JsApiCode.WRONG_LAST_SEQUENCE_CONSTANT)
  );
}
