// The durable consumers of the app's `@JetStreamHandler`s once partitions are expanded (a
// partitioned handler uses `<durable>-<p>` for each partition p), and the start-up check that no
// two handlers on one stream would share one: they would take each other's messages.
import { InvalidOptionError } from '../../../core/internal.js';
import type { JetStreamHandlerOptions } from '../jetstream-handler.decorator.js';

const MAX_PARTITIONS = 1024;

/** `@JetStreamHandler <subject> (stream/durable[, N partitions])`, as start-up errors name one. */
export function handlerName(opts: JetStreamHandlerOptions): string {
  const n = opts.partitions === undefined ? '' : `, ${opts.partitions} partitions`;
  return `@JetStreamHandler ${opts.filterSubject ?? ''} (${opts.stream}/${opts.durable}${n})`;
}

/** The partition count of a partitioned handler; throws `InvalidOptionError` out of 1 to 1024. */
export function partitionCount(opts: JetStreamHandlerOptions): number {
  const n = opts.partitions ?? 0;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PARTITIONS)
    throw new InvalidOptionError(
      `@JetStreamHandler ${opts.stream}/${opts.durable}: partitions must be an integer from 1 to ${MAX_PARTITIONS}`,
    );
  return n;
}

/** Partition `p`'s durable consumer. */
export function partitionDurable(durable: string, p: number): string {
  return `${durable}-${p}`;
}

/** Every durable consumer a handler uses: its own, or one per partition. */
export function consumerNames(opts: JetStreamHandlerOptions): string[] {
  if (opts.partitions === undefined) return [opts.durable];
  return Array.from({ length: partitionCount(opts) }, (_, p) => partitionDurable(opts.durable, p));
}

/**
 * Throws `InvalidOptionError` naming both handlers when two handlers on the same stream would
 * use the same durable consumer (`orders` with 3 partitions and another handler's `orders-1`).
 */
export function refuseCollidingDurables(handlers: JetStreamHandlerOptions[]): void {
  const owners = new Map<string, Map<string, JetStreamHandlerOptions>>();
  for (const opts of handlers) {
    const stream = owners.get(opts.stream) ?? new Map<string, JetStreamHandlerOptions>();
    owners.set(opts.stream, stream);
    for (const name of consumerNames(opts)) {
      const other = stream.get(name);
      if (other !== undefined && other !== opts)
        throw new InvalidOptionError(
          `${handlerName(other)} and ${handlerName(opts)} would both use the consumer ${name} ` +
            `on stream ${opts.stream} (a partitioned handler uses <durable>-<partition>); ` +
            'give one of them another durable',
        );
      stream.set(name, opts);
    }
  }
}
