import { InvalidOperationError, type NatsError } from './errors.js';

/**
 * What the upper layers (JetStream, services, nest) may use of a connection beyond its public
 * API. Reached through `internalsOf(nc)` from the internal barrel, never from a public entry.
 */
export interface ConnectionInternals {
  /** Reports an error that belongs to no call (`onError`, `status()`). */
  reportError(err: NatsError): void;
  /**
   * True while a subscription callback runs (its synchronous part): a drain or stop asked for
   * from there must not wait for running callbacks, the caller being one of them.
   */
  readonly isDispatching: boolean;
  /** The connection's drain budget in milliseconds, also used by services stopping. */
  readonly drainTimeout: number;
}

const registry = new WeakMap<object, ConnectionInternals>();

/** Called once by each connection as it is created. */
export function registerInternals(nc: object, internals: ConnectionInternals): void {
  registry.set(nc, internals);
}

/** The internals of `nc`. Throws `InvalidOperationError` for anything but a connection. */
export function internalsOf(nc: object): ConnectionInternals {
  const internals = registry.get(nc);
  if (internals === undefined) throw new InvalidOperationError('not a NatsConnection');
  return internals;
}
