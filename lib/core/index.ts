export { connect, NatsConnection } from './connection.js';
export type {
  ConnectionState,
  PublishOptions,
  RequestOptions,
  RequestManyOptions,
  Stats,
} from './connection.js';
export type { ConnectOptions, TlsOptions, Authenticator, AuthCredentials } from './options.js';
export { Msg } from './messages/msg.js';
export { MsgView } from './messages/msg-view.js';
export { MsgHeaders } from './messages/headers.js';
export type { HeadersInit } from './messages/headers.js';
export {
  Subscription,
  DEFAULT_SUB_PENDING_MSGS_LIMIT,
  DEFAULT_SUB_PENDING_BYTES_LIMIT,
} from './subscriptions/subscription.js';
export type { SubscriptionOptions } from './subscriptions/subscription.js';
export { replyError } from './subscriptions/mux-inbox.js';
export type { Status } from './status.js';
export type { ServerInfo } from './protocol/handshake.js';
export type { ServerVersion } from './server-version.js';
export { isValidPublishSubject, isValidSubscribeSubject } from './subjects.js';
export { Nuid, nuid } from './nuid.js';
export * from './errors.js';

/** Default pending limits of a JetStream push subscription. */
export const DEFAULT_JS_SUB_PENDING_MSGS_LIMIT = 512 * 1024;
export const DEFAULT_JS_SUB_PENDING_BYTES_LIMIT = 256 * 1024 * 1024;

/** Acknowledgement bodies understood by JetStream. */
export const Ack = { ACK: '+ACK', NAK: '-NAK', PROGRESS: '+WPI', TERM: '+TERM' } as const;
