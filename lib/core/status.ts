import type { NatsError } from './errors.js';
import type { ConnectOptions } from './options.js';

/** Events emitted by `nc.status()`. Server URLs never carry credentials. */
export type Status =
  | {
      /** Connected for the first time. */
      type: 'connect';
      /** The URL of the server connected to. */
      server: string;
    }
  | {
      /** The connection to a server was lost. */
      type: 'disconnect';
      /** The URL of the server that was lost. */
      server: string;
      /** Why, when the client knows. */
      error?: Error;
    }
  | {
      /** A reconnect attempt starts. */
      type: 'reconnecting';
      /** The attempt's number, counting from 1 since the connection was lost. */
      attempt: number;
    }
  | {
      /** Connected again after a loss. */
      type: 'reconnect';
      /** The URL of the server connected to. */
      server: string;
    }
  | {
      /** The cluster told of servers that were not in the pool. */
      type: 'discoveredServers';
      /** The URLs added to the pool. */
      servers: string[];
    }
  | {
      /** The server is shutting down (lame duck mode); move to another before it goes. */
      type: 'lameDuck';
      /** The URL of the server going away. */
      server: string;
    }
  | {
      /** An error that belongs to no call (slow consumer, permission violation, throwing callback). */
      type: 'error';
      /** The error. */
      error: NatsError;
    }
  | {
      /** The connection is closed for good. */
      type: 'close';
      /** The error that closed it, if one did. */
      error?: Error;
    };

/**
 * Broadcasts values to any number of async iterators. Each iterator buffers at most `limit`
 * values (oldest dropped) so a listener that stops reading cannot grow memory without bound.
 */
export class Broadcast<T> {
  private readonly listeners = new Set<{ queue: T[]; wake: (() => void) | undefined }>();
  private ended = false;

  constructor(private readonly limit = 1024) {}

  emit(value: T): void {
    for (const l of this.listeners) {
      if (l.queue.length >= this.limit) l.queue.shift();
      l.queue.push(value);
      l.wake?.();
    }
  }

  end(): void {
    this.ended = true;
    for (const l of this.listeners) l.wake?.();
  }

  iterate(): AsyncIterableIterator<T> {
    const listener: { queue: T[]; wake: (() => void) | undefined } = { queue: [], wake: undefined };
    this.listeners.add(listener);
    const done = (): IteratorResult<T> => {
      this.listeners.delete(listener);
      return { done: true, value: undefined };
    };
    const it: AsyncIterableIterator<T> = {
      next: async () => {
        while (listener.queue.length === 0) {
          if (this.ended || !this.listeners.has(listener)) return done();
          await new Promise<void>((resolve) => (listener.wake = resolve));
          listener.wake = undefined;
        }
        return { done: false, value: listener.queue.shift() as T };
      },
      return: () => {
        listener.wake?.();
        return Promise.resolve(done());
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }
}

/** The `connect()` callback of each status type that has one, called with that status. */
const CALLBACKS: {
  readonly [T in Status['type']]?: (
    o: ConnectOptions,
    status: Extract<Status, { type: T }>,
  ) => void;
} = {
  error: (o, s) => o.onError?.(s.error),
  disconnect: (o, s) => o.onDisconnect?.(s.server),
  reconnect: (o, s) => o.onReconnect?.(s.server),
  close: (o, s) => o.onClose?.(s.error),
  discoveredServers: (o, s) => o.onDiscoveredServers?.(s.servers),
  lameDuck: (o, s) => o.onLameDuck?.(s.server),
};

/** Calls the `connect()` callback that matches `status`; a throwing callback is contained. */
export function notifyCallbacks(o: ConnectOptions, status: Status): void {
  // The table pairs each type with its own status; TypeScript cannot follow that through a lookup.
  const callback = CALLBACKS[status.type] as ((o: ConnectOptions, s: Status) => void) | undefined;
  try {
    callback?.(o, status);
  } catch {
    // A throwing user callback must not break the connection's own bookkeeping.
  }
}
