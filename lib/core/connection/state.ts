import { fail } from 'node:assert/strict';
import { debuglog } from 'node:util';
import { ConnectionClosedError, ConnectionDrainingError, type NatsError } from '../errors.js';
import type { ConnectOptions } from '../options.js';
import { Broadcast, notifyCallbacks, type Status } from '../status.js';

/** The lifecycle of a connection as users see it (`inspect(nc)`); see `Phase` for the inside. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'draining' | 'closed';

/**
 * Where a connection is. `draining` drains subscriptions (publishes still allowed), `flushing`
 * is drain's last step (publishes refused), `closing` ends the socket before `closed`.
 */
export type Phase =
  'connecting' | 'connected' | 'reconnecting' | 'draining' | 'flushing' | 'closing' | 'closed';

/**
 * The moves allowed from each phase. Any other is a bug in the client, never a user error: it
 * fails an assertion (`AssertionError` from `node:assert`).
 */
export const MOVES: { readonly [P in Phase]: readonly Phase[] } = {
  // A first connect that fails closes without a close event; waitOnFirstConnect retries.
  connecting: ['connected', 'reconnecting', 'closed'],
  connected: ['reconnecting', 'draining', 'closing'],
  reconnecting: ['connected', 'closing'],
  draining: ['flushing', 'closing'],
  flushing: ['closing'],
  closing: ['closed'],
  closed: [],
};

const PUBLIC: { readonly [P in Phase]: ConnectionState } = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  draining: 'draining',
  flushing: 'draining',
  closing: 'closed',
  closed: 'closed',
};

/** Status events that are not the entry into a phase, and the phases they may happen in. */
type Announcement = Exclude<Status, { type: 'connect' | 'reconnect' | 'close' }>;
const LINK_UP: readonly Phase[] = ['connected', 'draining', 'flushing'];
const ANNOUNCED_IN: { readonly [T in Announcement['type']]: readonly Phase[] | 'any' } = {
  disconnect: LINK_UP,
  reconnecting: ['reconnecting'],
  lameDuck: ['connecting', 'connected', 'reconnecting', 'draining', 'flushing'],
  discoveredServers: ['connecting', 'connected', 'reconnecting', 'draining', 'flushing'],
  // Errors belong to no call, so they can come from anywhere (a callback after close, too).
  error: 'any',
};

const natsDebug = debuglog('nats');

/**
 * The one state of a connection. `transition()` checks the move, logs it (NODE_DEBUG=nats, or the
 * `log` hook) and emits the status event that entering the phase means; `announce()` emits the
 * events that are not phase changes, checked against the phase. Every status event, to the
 * `connect()` callbacks and to `status()` readers, goes out from here.
 */
export class ConnectionStateMachine {
  private current: Phase = 'connecting';
  // True once the connection reached `connected`: the next time is a reconnect.
  private wasConnected = false;
  /** False from drain's last step on: `publish()` reads it on its hot path. */
  publishable = true;
  private readonly events = new Broadcast<Status>();
  private readonly warnedAt = new Map<string, number>();
  private resolveClosed!: (err: Error | undefined) => void;
  /** Resolves when the connection is closed: with the error that closed it, or undefined. */
  readonly closed = new Promise<Error | undefined>((r) => (this.resolveClosed = r));

  constructor(
    private readonly opts: ConnectOptions,
    private readonly log: (line: string) => void = natsDebug,
  ) {}

  get phase(): Phase {
    return this.current;
  }

  /** The public name of the phase. */
  get state(): ConnectionState {
    return PUBLIC[this.current];
  }

  get everConnected(): boolean {
    return this.wasConnected;
  }

  get isConnected(): boolean {
    return LINK_UP.includes(this.current);
  }

  /** Closing or closed: nothing new is accepted. */
  get isClosed(): boolean {
    return this.current === 'closing' || this.current === 'closed';
  }

  get isDraining(): boolean {
    return this.current === 'draining' || this.current === 'flushing';
  }

  /**
   * Moves to `next`. Entering `connected` emits `connect` (the first time) or `reconnect` with
   * `server`; entering `closed` from `closing` emits `close` with `error`, then ends `status()`
   * and resolves `closed`. A move `MOVES` does not allow fails an assertion.
   */
  transition(next: Phase, detail: { server?: string; error?: Error } = {}): void {
    const from = this.current;
    if (!MOVES[from].includes(next)) {
      fail(`connection cannot move from ${from} to ${next}`);
    }
    this.current = next;
    this.publishable = next !== 'flushing' && next !== 'closing' && next !== 'closed';
    this.log(`connection ${from} -> ${next}`);
    if (next === 'connected') {
      const type = this.wasConnected ? 'reconnect' : 'connect';
      this.wasConnected = true;
      this.emit({ type, server: detail.server ?? '' });
    } else if (next === 'closed') {
      if (from === 'closing') this.emit({ type: 'close', error: detail.error });
      this.events.end();
      this.resolveClosed(detail.error);
    }
  }

  /** Emits an event that is not a phase change; one out of place fails an assertion. */
  announce(status: Announcement): void {
    const allowed = ANNOUNCED_IN[status.type];
    if (allowed !== 'any' && !allowed.includes(this.current)) {
      fail(`no ${status.type} event while ${this.current}`);
    }
    this.emit(status);
  }

  /** Reports an error that belongs to no call: `onError`, `status()`, else a throttled warning. */
  reportError(err: NatsError): void {
    this.announce({ type: 'error', error: err });
    // Without an onError handler these errors (dropped messages, throwing callbacks) would
    // only reach status() readers: also warn on stderr, at most once a minute per kind.
    if (this.opts.onError === undefined) {
      const now = Date.now();
      if (now - (this.warnedAt.get(err.code) ?? -Infinity) >= 60_000) {
        this.warnedAt.set(err.code, now);
        process.emitWarning(err.message, { type: 'NatsWarning', code: err.code });
      }
    }
  }

  /** The error `publish()` throws once `publishable` is false. */
  publishRefusal(): NatsError {
    return this.isClosed ? new ConnectionClosedError() : new ConnectionDrainingError();
  }

  /** Throws unless subscriptions and requests are accepted (not draining, not closed). */
  assertOpen(): void {
    if (this.isClosed) throw new ConnectionClosedError();
    if (this.isDraining) throw new ConnectionDrainingError();
  }

  iterate(): AsyncIterableIterator<Status> {
    return this.events.iterate();
  }

  private emit(status: Status): void {
    if (status.type !== 'error') this.log(`status ${status.type}`);
    notifyCallbacks(this.opts, status);
    this.events.emit(status);
  }
}
