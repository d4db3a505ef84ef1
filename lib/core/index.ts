export {
  connect,
  NatsConnection,
  type ConnectionState,
  type PublishOptions,
  type RequestOptions,
  type RequestManyOptions,
  type Stats,
} from './connection.js';
export type {
  ConnectOptions,
  TlsOptions,
  Authenticator,
  AuthCredentials,
  TelemetryOptions,
} from './options.js';
export type { CredentialSupplier } from './auth/suppliers.js';
export type { PoolServer, ReconnectChoice, ReconnectToServer } from './server-choice.js';
export { Msg } from './messages/msg.js';
export type { MsgView } from './messages/msg-view.js';
export { MsgHeaders, type HeadersInit } from './messages/headers.js';
export {
  Subscription,
  DEFAULT_SUB_PENDING_MSGS_LIMIT,
  DEFAULT_SUB_PENDING_BYTES_LIMIT,
  type SubscriptionOptions,
} from './subscriptions/subscription.js';
export type { Status } from './status.js';
export type { ServerInfo } from './protocol/handshake.js';
export type { ServerVersion } from './server-version.js';
export * from './errors.js';
export * from './service-error.js';

/** Default pending message limit of a JetStream push subscription. */
export const DEFAULT_JS_SUB_PENDING_MSGS_LIMIT = 512 * 1024;
/** Default pending byte limit of a JetStream push subscription (256 MiB). */
export const DEFAULT_JS_SUB_PENDING_BYTES_LIMIT = 256 * 1024 * 1024;

/** Acknowledgement bodies understood by JetStream. */
export const Ack = {
  /** Acknowledges the message. */
  ACK: '+ACK',
  /** Asks for redelivery. */
  NAK: '-NAK',
  /** Work in progress: restarts the ack wait. */
  PROGRESS: '+WPI',
  /** Stops redelivery for good. */
  TERM: '+TERM',
} as const;
