import type { EventEmitter } from 'node:events';
import type { NatsConnection, Status } from '../core/internal.js';

/** What the `status` observable of `ServerNats` and `ClientNats` emits. */
type ConnectionState = 'connected' | 'disconnected' | 'reconnecting';

/** Where `watchStatus()` reports. */
export interface StatusWatcherOptions {
  /** Nest's `status` observable (the transport's or client's `_status$`). */
  status: { next(state: ConnectionState): void };
  /** Where the `on()` listeners are: `disconnected`, `reconnecting`, `reconnected`. */
  events: EventEmitter;
  /** When given, disconnects are logged at `warn` and reconnects at `log`. */
  log?: { log(text: string): void; warn(text: string): void; error(text: string): void };
  /**
   * Set for a connection someone else owns (and whose `onError` is not ours): its errors are
   * logged, and its owner closing it while `serving()` is reported as `disconnected`.
   */
  shared?: { serving(): boolean };
}

/**
 * Mirrors a connection's state in Nest's `status` observable and the `on()` events until
 * `reader` ends (the connection closed, or its owner returned the reader). `connected` for the
 * first connection is the caller's to report, once it is ready.
 */
export async function watchStatus(
  nc: NatsConnection,
  reader: AsyncIterable<Status>,
  opts: StatusWatcherOptions,
): Promise<void> {
  const { status, events, log, shared } = opts;
  let server = nc.connectedUrl;
  for await (const s of reader) {
    switch (s.type) {
      case 'error':
        if (shared) log?.error(`${s.error.code}: ${s.error.message}`);
        break;
      case 'close':
        if (shared?.serving()) {
          log?.warn('the shared connection closed: the handlers receive no more messages');
          status.next('disconnected');
          events.emit('disconnected', server);
        }
        break;
      case 'disconnect':
        log?.warn(`disconnected from ${s.server}`);
        status.next('disconnected');
        events.emit('disconnected', s.server);
        break;
      case 'reconnecting':
        status.next('reconnecting');
        events.emit('reconnecting', s.attempt);
        break;
      case 'reconnect':
        server = s.server;
        log?.log(`reconnected to ${s.server}`);
        status.next('connected');
        events.emit('reconnected', s.server);
        break;
    }
  }
}
