import { ErrorCode, JsApiCode } from './error-codes.js';

export { ErrorCode, JsApiCode } from './error-codes.js';

/**
 * Every error this library throws or rejects with is a `NatsError` with a stable string `code`,
 * so callers can branch on `err.code` (or `instanceof`) without parsing messages.
 */
export class NatsError extends Error {
  /** A stable, machine-readable identifier from `ErrorCode`, such as `TIMEOUT` or `NO_RESPONDERS`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /**
   * What `JSON.stringify(err)` (and so a logger) writes: `name`, `code`, `message`, the error's
   * own data fields, and a summary of its `cause`. Errors are safe to log: none holds an
   * enumerable reference to a connection, subscription, socket or message.
   */
  toJSON(): Record<string, unknown> {
    return errorJson(this, 0);
  }
}

const CAUSE_DEPTH = 4;

/** Plain data describing `err`; a cause is summarised down to `CAUSE_DEPTH` levels. */
function errorJson(err: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  out.message = err.message;
  for (const [k, v] of Object.entries(err)) {
    if (Object.hasOwn(out, k) || typeof v === 'function') continue;
    // Foreign errors (the cause of ours) keep only their primitive fields (`errno`, `syscall`...).
    if (depth > 0 && typeof v === 'object' && v !== null) continue;
    out[k] = v;
  }
  const cause = err.cause;
  if (cause instanceof Error) {
    if (depth < CAUSE_DEPTH) out.cause = errorJson(cause, depth + 1);
  } else if (typeof cause === 'string' || typeof cause === 'number' || typeof cause === 'boolean') {
    out.cause = cause;
  }
  return out;
}

/** The socket could not be opened or was lost, or the server sent a fatal `-ERR`. */
export class ConnectionError extends NatsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONNECTION_ERROR, message, options);
  }
}

/** The operation needs an open connection, but it is closed. */
export class ConnectionClosedError extends NatsError {
  constructor(message = 'connection closed', options?: { cause?: unknown }) {
    super(ErrorCode.CONNECTION_CLOSED, message, options);
  }
}

/** The connection is draining and takes no new subscriptions or publishes. */
export class ConnectionDrainingError extends NatsError {
  constructor(message = 'connection is draining') {
    super(ErrorCode.CONNECTION_DRAINING, message);
  }
}

/** The server refused the credentials (`Authorization Violation`, expired or revoked). */
export class AuthorizationError extends NatsError {
  constructor(message: string, code: ErrorCode = ErrorCode.AUTHORIZATION_VIOLATION) {
    super(code, message);
  }
}

/**
 * The server closed the connection because its credentials expired while it was up (`User
 * Authentication Expired`, `Account Authentication Expired`): reported through `onError` and
 * `status()`, then the client reconnects, calling its credential suppliers again.
 */
export class AuthenticationExpiredError extends AuthorizationError {
  /** `user`: the user's JWT (or credential) expired; `account`: the account's JWT did. */
  readonly scope: 'user' | 'account';

  constructor(message: string, scope: 'user' | 'account') {
    super(message, ErrorCode.AUTHENTICATION_EXPIRED);
    this.scope = scope;
  }
}

/**
 * The server closed the connection because the user was revoked (`User Authentication
 * Revoked`): it counts as a refusal, so the client gives a server up when the credentials it
 * reconnects with are refused too.
 */
export class AuthenticationRevokedError extends AuthorizationError {
  constructor(message: string) {
    super(message, ErrorCode.AUTHENTICATION_REVOKED);
  }
}

/**
 * A credential supplier (`token`, `user`, `pass`, `creds`, `nkeySeed` given as a function, or
 * the `authenticator`) threw, rejected or returned something unusable. The message names the
 * option and what went wrong, never a value; what the supplier threw is kept in the
 * non-enumerable `supplierError`, which loggers and `JSON.stringify` do not show.
 */
export class CredentialSupplierError extends NatsError {
  /** The option whose supplier failed (`token`, `creds`, `authenticator`...). */
  readonly option: string;
  /** What the supplier threw or rejected with (non-enumerable: it may hold a secret). */
  declare readonly supplierError: unknown;

  constructor(option: string, problem: string, supplierError?: unknown) {
    super(ErrorCode.CREDENTIAL_SUPPLIER, `the ${option} supplier ${problem}`);
    this.option = option;
    Object.defineProperty(this, 'supplierError', { value: supplierError, enumerable: false });
  }
}

/** The server refused a publish or subscription for lack of permission; the connection stays up. */
export class PermissionViolationError extends NatsError {
  /** `publish` or `subscription`. */
  readonly operation: 'publish' | 'subscription';
  /** The subject the server refused. */
  readonly subject: string;
  /** The queue group of a refused subscription, if it had one. */
  readonly queue: string | undefined;

  constructor(
    message: string,
    operation: 'publish' | 'subscription',
    subject: string,
    queue?: string,
  ) {
    super(ErrorCode.PERMISSIONS_VIOLATION, message);
    this.operation = operation;
    this.subject = subject;
    this.queue = queue;
  }
}

/** The server sent bytes that do not follow the protocol, or an unexpected `-ERR`. */
export class ProtocolError extends NatsError {
  constructor(message: string) {
    super(ErrorCode.PROTOCOL_ERROR, message);
  }
}

/** An operation did not complete within its timeout. */
export class TimeoutError extends NatsError {
  constructor(message = 'timeout') {
    super(ErrorCode.TIMEOUT, message);
  }
}

/** A request reached no subscriber (the server answered with status 503). */
export class NoRespondersError extends NatsError {
  /** The subject the request was sent to. */
  readonly subject: string;

  constructor(subject: string) {
    super(ErrorCode.NO_RESPONDERS, `no responders for ${subject}`);
    this.subject = subject;
  }
}

/** A subject, queue group or reply subject is not valid for the operation. */
export class InvalidSubjectError extends NatsError {
  constructor(message: string) {
    super(ErrorCode.INVALID_SUBJECT, message);
  }
}

/** The operation is not available on this object (for example `nextMsg()` on a callback subscription). */
export class InvalidOperationError extends NatsError {
  constructor(message: string) {
    super(ErrorCode.INVALID_OPERATION, message);
  }
}

/** An option or argument is not valid. */
export class InvalidOptionError extends NatsError {
  constructor(message: string) {
    super(ErrorCode.INVALID_OPTION, message);
  }
}

/** The message (headers plus payload) is larger than the server's `max_payload`. */
export class MaxPayloadError extends NatsError {
  constructor(size: number, max: number) {
    super(
      ErrorCode.MAX_PAYLOAD_EXCEEDED,
      `message size ${size} exceeds the server's max_payload of ${max} bytes`,
    );
  }
}

/** A subscription's pending limits were exceeded and messages were dropped. */
export class SlowConsumerError extends NatsError {
  /** The subject the subscription listens on. */
  readonly subject: string;
  /** The id of the subscription that dropped messages. */
  readonly sid: number;

  constructor(subject: string, sid: number, pendingMsgs: number, pendingBytes: number) {
    super(
      ErrorCode.SLOW_CONSUMER,
      `slow consumer on ${subject} (sid ${sid}): dropping messages, ${pendingMsgs} msgs / ${pendingBytes} bytes pending`,
    );
    this.subject = subject;
    this.sid = sid;
  }
}

/** A subscription callback threw or rejected; reported through `onError` and `status()`. */
export class CallbackError extends NatsError {
  constructor(subject: string, cause: Error) {
    super(
      ErrorCode.CALLBACK_ERROR,
      `subscription callback for ${subject} threw: ${cause.message}`,
      {
        cause,
      },
    );
  }
}

/** `respond()` was called on a message that has no reply subject. */
export class NoReplySubjectError extends NatsError {
  constructor() {
    super(ErrorCode.NO_REPLY_SUBJECT, 'message has no reply subject to respond to');
  }
}

/** The outbound buffer for publishes made while disconnected is full. */
export class ReconnectBufferFullError extends NatsError {
  constructor(limit: number) {
    super(
      ErrorCode.RECONNECT_BUFFER_FULL,
      `reconnect buffer is full (${limit} bytes); publish refused while disconnected`,
    );
  }
}

/**
 * The connected server is too old for the feature: thrown before anything is sent. Names the
 * feature, the minimum server release that has it and the release connected to.
 */
export class FeatureNotSupportedError extends NatsError {
  /** The feature that was asked for (an option, a config field or a call). */
  readonly feature: string;
  /** The oldest nats-server release with the feature (`2.10.0`). */
  readonly minVersion: string;
  /** The release of the connected server (`2.9.10`), or `unknown`. */
  readonly serverVersion: string;

  constructor(feature: string, minVersion: string, serverVersion: string) {
    super(
      ErrorCode.FEATURE_NOT_SUPPORTED,
      `${feature} needs nats-server ${minVersion} or newer (connected to ${serverVersion})`,
    );
    this.feature = feature;
    this.minVersion = minVersion;
    this.serverVersion = serverVersion;
  }
}

/** The JetStream API answered with an error. */
export class JetStreamApiError extends NatsError {
  /**
   * The server's `err_code`, named in `JsApiCode` (`JsApiCode.STREAM_NOT_FOUND` is 10059); 0 when
   * the error came from a status reply rather than the API.
   */
  readonly apiCode: number;
  /** The HTTP-like `code` of the API error (400, 404, 503...). */
  readonly status: number;

  constructor(
    message: string,
    apiCode: number,
    status: number,
    code: ErrorCode = ErrorCode.JETSTREAM_API_ERROR,
  ) {
    super(code, message);
    this.apiCode = apiCode;
    this.status = status;
  }
}

// What a not-found API error carries when its thrower leaves it out: the message, the server's
// `err_code` and status for that error, and the error's own `code`.
const NOT_FOUND = {
  stream: {
    message: 'stream not found',
    apiCode: JsApiCode.STREAM_NOT_FOUND,
    code: ErrorCode.STREAM_NOT_FOUND,
  },
  consumer: {
    message: 'consumer not found',
    apiCode: JsApiCode.CONSUMER_NOT_FOUND,
    code: ErrorCode.CONSUMER_NOT_FOUND,
  },
} as const;

/** The `JetStreamApiError` arguments of a not-found error, with its defaults for those left out. */
function notFound(
  what: keyof typeof NOT_FOUND,
  message: string = NOT_FOUND[what].message,
  apiCode: number = NOT_FOUND[what].apiCode,
  status = 404,
): [message: string, apiCode: number, status: number, code: ErrorCode] {
  return [message, apiCode, status, NOT_FOUND[what].code];
}

/** The stream does not exist. */
export class StreamNotFoundError extends JetStreamApiError {
  constructor(message?: string, apiCode?: number, status?: number) {
    super(...notFound('stream', message, apiCode, status));
  }
}

/** The consumer does not exist. */
export class ConsumerNotFoundError extends JetStreamApiError {
  constructor(message?: string, apiCode?: number, status?: number) {
    super(...notFound('consumer', message, apiCode, status));
  }
}
