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

/** Calls the `connect()` callback that matches `status`; a throwing callback is contained. */
export function notifyCallbacks(o: ConnectOptions, status: Status): void {
  try {
    switch (status.type) {
      case 'error':
        o.onError?.(status.error);
        break;
      case 'disconnect':
        o.onDisconnect?.(status.server);
        break;
      case 'reconnect':
        o.onReconnect?.(status.server);
        break;
      case 'close':
        o.onClose?.(status.error);
        break;
      case 'discoveredServers':
        o.onDiscoveredServers?.(status.servers);
        break;
      case 'lameDuck':
        o.onLameDuck?.(status.server);
        break;
    }
  } catch {
    // A throwing user callback must not break the connection's own bookkeeping.
  }
}
