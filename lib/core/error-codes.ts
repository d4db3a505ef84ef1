// The stable codes of the library's errors, and names for the JetStream API codes it branches on.
// The core owns both maps so every layer (jetstream, kv, obj, buckets, services, nest) takes its
// codes from one place; the values are the contract users match on and never change.

/**
 * Every `NatsError.code` the library uses, keyed by itself: `err.code === ErrorCode.TIMEOUT`.
 * Subclasses share their parent's code unless listed with their own (a `NoStreamForSubjectError`
 * is a `NO_RESPONDERS`).
 */
export const ErrorCode = {
  // Connection
  /** `ConnectionError`: the socket could not be opened or was lost, or a fatal `-ERR`. */
  CONNECTION_ERROR: 'CONNECTION_ERROR',
  /** `ConnectionClosedError`. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** `ConnectionDrainingError`. */
  CONNECTION_DRAINING: 'CONNECTION_DRAINING',
  /** `AuthorizationError`: the server refused the credentials. */
  AUTHORIZATION_VIOLATION: 'AUTHORIZATION_VIOLATION',
  /** `PermissionViolationError`: a publish or subscription was refused. */
  PERMISSIONS_VIOLATION: 'PERMISSIONS_VIOLATION',
  /** `ProtocolError`. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** `ReconnectBufferFullError`. */
  RECONNECT_BUFFER_FULL: 'RECONNECT_BUFFER_FULL',
  /** `FeatureNotSupportedError`: the server is too old for the feature. */
  FEATURE_NOT_SUPPORTED: 'FEATURE_NOT_SUPPORTED',
  // Calls and messages
  /** `TimeoutError`. */
  TIMEOUT: 'TIMEOUT',
  /** `NoRespondersError` (and `NoStreamForSubjectError`, `JetStreamNotAvailableError`). */
  NO_RESPONDERS: 'NO_RESPONDERS',
  /** `MaxPayloadError`. */
  MAX_PAYLOAD_EXCEEDED: 'MAX_PAYLOAD_EXCEEDED',
  /** `SlowConsumerError`. */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** `CallbackError`: a user callback threw or rejected. */
  CALLBACK_ERROR: 'CALLBACK_ERROR',
  /** `NoReplySubjectError`. */
  NO_REPLY_SUBJECT: 'NO_REPLY_SUBJECT',
  /** `ServiceError`: a service answered with an error. */
  SERVICE_ERROR: 'SERVICE_ERROR',
  // Misuse and bad input
  /** `InvalidSubjectError`. */
  INVALID_SUBJECT: 'INVALID_SUBJECT',
  /** `InvalidOptionError`: an option or argument is not valid. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** `InvalidOperationError`: the call is not available on this object or in its state. */
  INVALID_OPERATION: 'INVALID_OPERATION',
  // JetStream
  /** `JetStreamApiError` without a more specific code; read its `apiCode`. */
  JETSTREAM_API_ERROR: 'JETSTREAM_API_ERROR',
  /** `StreamNotFoundError`. */
  STREAM_NOT_FOUND: 'STREAM_NOT_FOUND',
  /** `ConsumerNotFoundError`. */
  CONSUMER_NOT_FOUND: 'CONSUMER_NOT_FOUND',
  /** `ConsumerConfigConflictError`. */
  CONSUMER_CONFIG_CONFLICT: 'CONSUMER_CONFIG_CONFLICT',
  /** `MessageTooLargeError`: a message exceeds a `consume()`'s `maxBytes`. */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  // KV and Object Store
  /** `InvalidBucketNameError`. */
  INVALID_BUCKET_NAME: 'INVALID_BUCKET_NAME',
  /** `BucketNotFoundError`. */
  BUCKET_NOT_FOUND: 'BUCKET_NOT_FOUND',
  /** `InvalidKeyError`. */
  INVALID_KEY: 'INVALID_KEY',
  /** `KeyExistsError`. */
  KEY_EXISTS: 'KEY_EXISTS',
  /** `WrongLastRevisionError`. */
  WRONG_LAST_REVISION: 'WRONG_LAST_REVISION',
  /** `ObjectNotFoundError`. */
  OBJECT_NOT_FOUND: 'OBJECT_NOT_FOUND',
  /** `ObjectExistsError`. */
  OBJECT_EXISTS: 'OBJECT_EXISTS',
  /** `DigestMismatchError`: a stored object is corrupt. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  /** `StoreSealedError`. */
  STORE_SEALED: 'STORE_SEALED',
  /** `InvalidLinkError`. */
  INVALID_LINK: 'INVALID_LINK',
  /** `InvalidObjectNameError`. */
  INVALID_OBJECT_NAME: 'INVALID_OBJECT_NAME',
  // NestJS transport
  /** `ProvisioningError`: a declared stream or consumer cannot be made to match. */
  PROVISIONING_ERROR: 'PROVISIONING_ERROR',
} as const;

/** One of the codes of `ErrorCode`: the type of `NatsError.code`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The JetStream API error codes (`err_code`, read as `JetStreamApiError.apiCode`) that the library
 * branches on, by the server's meaning. An `apiCode` of 0 means the error came from a status reply
 * (a pull's 409, a direct get's 404 other than "no message"), not from the API.
 */
export const JsApiCode = {
  /** The consumer does not exist (`ConsumerNotFoundError`). */
  CONSUMER_NOT_FOUND: 10014,
  /** No message matched a get (`getMessage`, a KV `get`, a direct get's 404). */
  NO_MESSAGE_FOUND: 10037,
  /** A stream of that name exists with another config. */
  STREAM_NAME_IN_USE: 10058,
  /** The stream does not exist (`StreamNotFoundError`). */
  STREAM_NOT_FOUND: 10059,
  /** A publish expected another stream (`expect.stream`). */
  STREAM_NOT_MATCH: 10060,
  /** A publish expected another last `Nats-Msg-Id` (`expect.lastMsgId`). */
  WRONG_LAST_MSG_ID: 10070,
  /** A publish expected another last sequence, of the stream or of the subject. */
  WRONG_LAST_SEQUENCE: 10071,
  /** The push consumer is already bound to an active subscription. */
  CONSUMER_ALREADY_BOUND: 10105,
  /** The stream is sealed and takes no writes (`StoreSealedError`). */
  STREAM_SEALED: 10109,
  /** A create would change an existing consumer (2.10+; `ConsumerConfigConflictError`). */
  CONSUMER_ALREADY_EXISTS: 10148,
  /** An update named a consumer that does not exist (2.10+). */
  CONSUMER_DOES_NOT_EXIST: 10149,
  /** "Wrong last sequence" without the number: 2.11+ answers it for a subject with no message. */
  WRONG_LAST_SEQUENCE_CONSTANT: 10164,
} as const;

/** One of the codes of `JsApiCode`. `JetStreamApiError.apiCode` stays a `number`: servers add codes. */
export type JsApiCode = (typeof JsApiCode)[keyof typeof JsApiCode];
