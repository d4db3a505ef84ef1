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
  /** `AuthenticationExpiredError`: the user's (or account's) credentials expired while connected. */
  AUTHENTICATION_EXPIRED: 'AUTHENTICATION_EXPIRED',
  /** `AuthenticationRevokedError`: the user was revoked while connected. */
  AUTHENTICATION_REVOKED: 'AUTHENTICATION_REVOKED',
  /** `CredentialSupplierError`: a credential supplier threw or returned something unusable. */
  CREDENTIAL_SUPPLIER: 'CREDENTIAL_SUPPLIER',
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
  /** `PriorityGroupError`: a pull's priority-group options do not fit the consumer. */
  PRIORITY_GROUP: 'PRIORITY_GROUP',
  /** `MessageTtlDisabledError`: a message with a TTL went to a stream without `allowMsgTtl`. */
  MESSAGE_TTL_DISABLED: 'MESSAGE_TTL_DISABLED',
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
  /** A `Nats-TTL` header the server cannot read, or under one second (2.11+). */
  MESSAGE_TTL_INVALID: 10165,
  /** A message with a TTL went to a stream without `allow_msg_ttl` (2.11+; `MessageTtlDisabledError`). */
  MESSAGE_TTL_DISABLED: 10166,
  /** A `Nats-Incr` publish to a stream without `allowMsgCounter` (2.12+). */
  COUNTER_DISABLED: 10168,
  /** A publish without `Nats-Incr` to a counter stream (2.12+). */
  COUNTER_INCREMENT_MISSING: 10169,
  /** A counter increment carried a payload (2.12+). */
  COUNTER_HAS_PAYLOAD: 10170,
  /** A counter increment is not an integer, or came with an expectation or rollup (2.12+). */
  COUNTER_INCREMENT_INVALID: 10171,
  /** The stored counter value cannot be read (2.12+). */
  COUNTER_BROKEN: 10172,
  /** An atomic batch to a stream without `allowAtomic` (2.12+); nothing was stored. */
  ATOMIC_PUBLISH_DISABLED: 10174,
  /** An atomic batch message had no `Nats-Batch-Sequence` (2.12+). */
  ATOMIC_PUBLISH_MISSING_SEQUENCE: 10175,
  /** The atomic batch had a gap, timed out or was abandoned; nothing was stored (2.12+). */
  ATOMIC_PUBLISH_INCOMPLETE: 10176,
  /** A header an atomic batch may not carry, such as `Nats-Expected-Last-Msg-Id` (2.12+). */
  ATOMIC_PUBLISH_UNSUPPORTED_HEADER: 10177,
  /** The atomic batch id is longer than 64 characters (2.12+). */
  ATOMIC_PUBLISH_INVALID_BATCH_ID: 10179,
  /** The server needs a higher JetStream API level for the request (`Nats-Required-Api-Level`). */
  REQUIRED_API_LEVEL: 10185,
  /** A schedule to a stream without `allowMsgSchedules` (2.12+). */
  SCHEDULES_DISABLED: 10188,
  /** The `Nats-Schedule` pattern is not valid for the server (2.12+). */
  SCHEDULE_PATTERN_INVALID: 10189,
  /** The schedule target is missing, the schedule subject, or outside the stream (2.12+). */
  SCHEDULE_TARGET_INVALID: 10190,
  /** The schedule's TTL is not valid (2.12+). */
  SCHEDULE_TTL_INVALID: 10191,
  /** The atomic batch has more messages than the server allows (1,000 by default; 2.12+). */
  ATOMIC_PUBLISH_TOO_LARGE: 10199,
  /** The `Nats-Batch-Commit` value is not valid (2.12+). */
  ATOMIC_PUBLISH_INVALID_COMMIT: 10200,
  /** A message id of the atomic batch repeats one in the batch or the stream (2.12+). */
  ATOMIC_PUBLISH_DUPLICATE_MESSAGE: 10201,
  /** The schedule source is not valid (2.14+). */
  SCHEDULE_SOURCE_INVALID: 10203,
  /** Too many atomic batches are open on the stream or the server (2.12+). */
  ATOMIC_PUBLISH_TOO_MANY_INFLIGHT: 10210,
  /** The schedule's time zone is unknown or used with `@at` / `@every` (2.14+). */
  SCHEDULE_TIME_ZONE_INVALID: 10223,
} as const;

/** One of the codes of `JsApiCode`. `JetStreamApiError.apiCode` stays a `number`: servers add codes. */
export type JsApiCode = (typeof JsApiCode)[keyof typeof JsApiCode];
