// What the layers above the core share with it: the public names, and the helpers that are not
// part of the public API. Upper layers import the core only from here.
export * from './index.js';
export { MAX_DELAY_MS, checkDelay } from './delays.js';
export { InFlight, settlesWithin } from './in-flight.js';
export { replyError } from './subscriptions/mux-inbox.js';
export { MsgView } from './messages/msg-view.js';
export { copyHeaders } from './messages/headers.js';
export { CopyArena } from './messages/copy-arena.js';
export { Nuid, nuid } from './nuid.js';
export {
  compareVersions,
  parseServerVersion,
  requireServer,
  serverAtLeast,
  type HasServerInfo,
} from './server-version.js';
export { isValidPublishSubject, isValidSubscribeSubject } from './subjects.js';
export { MsgQueue, type ReadHooks } from './async/queue.js';
export { IdleMonitor, type IdleMonitorOptions } from './async/idle-monitor.js';
export { CallbackRunner, type ErrorSink } from './async/callback-runner.js';
export { internalsOf, type ConnectionInternals } from './connection-internals.js';
export { contextJetStream } from './nats-context.js';
export {
  telemetryOf,
  settleHooks,
  carrierOf,
  incomingCarrier,
  isSpanned,
  markSpanned,
  NO_SPAN,
  type ConnectionTelemetry,
  type SpannedSend,
} from './telemetry/slot.js';
export type {
  HeaderCarrier,
  TelemetryAttributes,
  TelemetryHooks,
  TelemetrySpan,
} from './telemetry/hooks.js';
