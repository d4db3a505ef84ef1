import { NoRespondersError, TimeoutError } from '../core/internal.js';

// A read from the JetStream API normally answers within a millisecond or two; one still open
// after this long may be waiting on something that is gone.
const FIRST_TRY_MS = 500;

/**
 * Sends an idempotent read (`send(timeout)`) that may never be answered when the state it
 * assumes changed: a direct get to a deleted stream, or to one re-created without direct get,
 * reaches the JetStream API, which on nats-server 2.9 stays silent, so it would only end with
 * the full timeout (2.10+ answers "no responders" at once instead).
 * The first try gets FIRST_TRY_MS (or half the timeout); if it times out or finds no responders,
 * `probe` asks the server once: resolving `{ value }` answers with that, rejecting fails with
 * its error, and undefined sends the read again for the rest of the timeout. The fast path
 * costs nothing extra (no timer or wrapper of its own).
 */
export function askAgainIfSlow<T>(
  send: (timeout: number) => Promise<T>,
  timeout: number,
  probe: () => Promise<{ value: T } | undefined>,
): Promise<T> {
  const started = Date.now();
  // Not an async function: the fast path (one answer in time) allocates no async frame.
  return send(Math.min(FIRST_TRY_MS, timeout / 2)).catch(async (err: unknown) => {
    if (!(err instanceof TimeoutError || err instanceof NoRespondersError)) throw err;
    const found = await probe();
    if (found !== undefined) return found.value;
    return send(Math.max(1, timeout - (Date.now() - started)));
  });
}
