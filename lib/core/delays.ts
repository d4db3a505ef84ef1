import { InvalidOptionError } from './errors.js';

/**
 * The longest delay a Node timer keeps: asked for more (or `Infinity`), it fires after 1 ms
 * instead, which would turn a long timeout into an immediate one or a timer into a busy loop.
 */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Throws `InvalidOptionError` unless `ms` is a number of milliseconds a timer can wait: at
 * least `min` (0, or 1 where zero makes no sense) and at most `MAX_DELAY_MS`.
 */
export function checkDelay(ms: unknown, what: string, min = 0): void {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < min || ms > MAX_DELAY_MS) {
    throw new InvalidOptionError(
      `${what} must be a number of milliseconds from ${min} to ${MAX_DELAY_MS} ` +
        `(Node's timer limit, about 24.8 days); got ${String(ms)}`,
    );
  }
}
