import {
  ConsumerNotFoundError,
  ErrorCode,
  NatsError,
  StreamNotFoundError,
  serverAtLeast,
} from '../../core/internal.js';
import {
  ConsumerConfigConflictError,
  configConflicts,
  filtersOf,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '../../jetstream/internal.js';
import { priorityConsumerConfig, priorityMismatch } from './exclusive.js';
import type { JetStreamHandlerOptions } from './jetstream-handler.decorator.js';
import { DEFAULT_MAX_DELIVER, effectiveAckWait } from './jetstream-worker.js';

/** A declared stream or consumer differs from the server's in a way that cannot be updated. */
export class ProvisioningError extends NatsError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.PROVISIONING_ERROR, message, { cause });
  }
}

/** The keys of `desired` whose values differ from `actual`. */
function differences<T extends object>(desired: T, actual: T): string[] {
  return Object.keys(desired).filter((k) => {
    const want = (desired as Record<string, unknown>)[k];
    return (
      want !== undefined &&
      JSON.stringify(want) !== JSON.stringify((actual as Record<string, unknown>)[k])
    );
  });
}

/** Creates each stream if missing and updates it if its config changed; refuses what the server refuses. */
export async function provisionStreams(
  jsm: JetStreamManager,
  streams: StreamConfig[],
): Promise<void> {
  for (const cfg of streams) {
    let current: StreamConfig;
    try {
      current = (await jsm.streams.info(cfg.name)).config;
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err;
      await jsm.streams.add(cfg);
      continue;
    }
    const changed = differences(cfg, current);
    if (changed.length === 0) continue;
    try {
      await jsm.streams.update(cfg.name, cfg);
    } catch (err) {
      throw new ProvisioningError(
        `stream ${cfg.name}: declared config differs in ${changed.join(', ')} and the server refused the update: ${(err as Error).message}`,
        err,
      );
    }
  }
}

/** The consumer config a handler declares. */
export function consumerConfig(opts: JetStreamHandlerOptions): ConsumerConfig {
  return {
    durableName: opts.durable,
    ackPolicy: 'explicit',
    deliverPolicy: opts.deliverPolicy ?? 'all',
    // As the server will store it, so a restart sees no difference to update.
    ackWait: effectiveAckWait(opts),
    maxDeliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
    maxAckPending: opts.maxAckPending ?? 1000,
    ...(opts.filterSubject ? { filterSubject: opts.filterSubject } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    // Exclusive and overflow handlers: their priority group, and an exclusive one's defaults.
    ...priorityConsumerConfig(opts),
    ...opts.consumer,
  };
}

/**
 * The first nats-server release that keeps a consumer's delivery position when its filter
 * changes; 2.9 moves it past messages not yet delivered, which are then lost to the consumer.
 */
const FILTER_UPDATE_KEEPS_STATE_SINCE = '2.10.0';

/**
 * Creates the handler's durable consumer if missing, updates the fields whose declared value
 * changed (keeping its delivery state), and refuses with a ProvisioningError what the server
 * refuses or what would lose messages.
 */
export async function provisionConsumer(
  jsm: JetStreamManager,
  opts: JetStreamHandlerOptions,
): Promise<void> {
  const desired = consumerConfig(opts);
  let current: ConsumerConfig;
  try {
    current = (await jsm.consumers.info(opts.stream, opts.durable)).config;
  } catch (err) {
    if (err instanceof StreamNotFoundError) {
      throw new ProvisioningError(
        `consumer ${opts.durable}: stream ${opts.stream} does not exist; declare it in ServerNats options.streams`,
        err,
      );
    }
    if (!(err instanceof ConsumerNotFoundError)) throw err;
    try {
      await jsm.consumers.add(opts.stream, desired);
      return;
    } catch (addErr) {
      // Another instance created it first: check theirs as if it had been there.
      if (!(addErr instanceof ConsumerConfigConflictError)) throw addErr;
      current = (await jsm.consumers.info(opts.stream, opts.durable)).config;
    }
  }
  const mismatch = priorityMismatch(opts, current);
  if (mismatch !== undefined)
    throw new ProvisioningError(`consumer ${opts.stream}/${opts.durable}: ${mismatch}`);
  const changed = configConflicts(desired, current)
    .map((c) => c.field)
    // A handler that declares no filter leaves the consumer's own alone.
    .filter((f) => !f.startsWith('filterSubject') || filtersOf(desired).length > 0);
  if (changed.length === 0) return;
  const where = `consumer ${opts.stream}/${opts.durable}: declared config differs in ${changed.join(', ')}`;
  if (
    changed.some((f) => f.startsWith('filterSubject')) &&
    !serverAtLeast(jsm.api.nc, FILTER_UPDATE_KEEPS_STATE_SINCE)
  ) {
    throw new ProvisioningError(
      `${where}; nats-server ${jsm.api.nc.info.version} would skip the messages it has not delivered yet if its filter changed, so it was left unchanged (delete the consumer to recreate it, or use nats-server ${FILTER_UPDATE_KEEPS_STATE_SINCE}+)`,
    );
  }
  try {
    await jsm.consumers.update(opts.stream, opts.durable, desired);
  } catch (err) {
    throw new ProvisioningError(
      `${where} and the server refused the update: ${(err as Error).message}`,
      err,
    );
  }
}
