// Exclusive and overflow `@JetStreamHandler`s: what they add to the durable consumer (a priority
// group, nats-server 2.11+), what their pulls carry, and the checks made at start-up.
//
// `exclusive: true` gives the consumer one `pinned_client` priority group. Every app instance
// pulls in that group; the server pins one of them (it alone is served, and its messages carry a
// `Nats-Pin-Id` that its later pulls send back) while the others' pulls wait. When the pinned
// instance stops pulling (it died, hung, or was stopped) for `priorityTimeout`, the server pins
// one of the waiting instances. With one message unacked at a time (`maxAckPending: 1`) and an
// ack wait no longer than `priorityTimeout`, the new instance first gets the message the old one
// left unacked and continues in stream order from there.
import { InvalidOptionError, requireServer, type HasServerInfo } from '../../core/internal.js';
import type { ConsumeOptions, ConsumerConfig } from '../../jetstream/internal.js';
import {
  isPinned,
  priorityTimeoutOf,
  withPriorityDefaults,
  type JetStreamHandlerOptions,
} from './jetstream-handler.decorator.js';

export { DEFAULT_PRIORITY_TIMEOUT } from './jetstream-handler.decorator.js';

/** The priority group of an exclusive (or partitioned) handler's consumer. */
export const EXCLUSIVE_GROUP = 'exclusive';
/** The priority group of an `overflow` handler's consumer. */
export const OVERFLOW_GROUP = 'overflow';

/** The first release with priority groups (ADR-42). */
export const PRIORITY_GROUPS_SINCE = '2.11.0';

/**
 * Checks the exclusive, partition and overflow options against each other (`InvalidOptionError`)
 * and, given the connection, against the server (`FeatureNotSupportedError` naming 2.11).
 */
export function checkPriorityHandler(opts: JetStreamHandlerOptions, nc?: HasServerInfo): void {
  const where = `@JetStreamHandler ${opts.stream}/${opts.durable}`;
  const pinned = isPinned(opts);
  if (opts.overflow !== undefined && pinned)
    throw new InvalidOptionError(
      `${where}: overflow cannot be combined with exclusive or partitions (a consumer has one priority policy)`,
    );
  if (pinned && (opts.concurrency ?? 1) !== 1)
    throw new InvalidOptionError(
      `${where}: an exclusive handler processes one message at a time, in order; remove concurrency ${opts.concurrency}`,
    );
  if (opts.priorityTimeout !== undefined) {
    if (!pinned)
      throw new InvalidOptionError(`${where}: priorityTimeout needs exclusive or partitions`);
    if (!Number.isSafeInteger(opts.priorityTimeout) || opts.priorityTimeout < 1000)
      throw new InvalidOptionError(
        `${where}: priorityTimeout must be a whole number of ms >= 1000`,
      );
  }
  if (opts.handlerTimeout !== undefined) {
    if (!pinned)
      throw new InvalidOptionError(`${where}: handlerTimeout needs exclusive or partitions`);
    if (!Number.isSafeInteger(opts.handlerTimeout) || opts.handlerTimeout < 1000)
      throw new InvalidOptionError(`${where}: handlerTimeout must be a whole number of ms >= 1000`);
  }
  const min = opts.overflow?.minPending;
  if (opts.overflow !== undefined && (!Number.isSafeInteger(min) || (min as number) < 1))
    throw new InvalidOptionError(`${where}: overflow.minPending must be a positive integer`);
  if (nc === undefined) return;
  if (opts.partitions !== undefined)
    requireServer(nc, PRIORITY_GROUPS_SINCE, `${where}: partitions (pinned priority groups)`);
  else if (opts.exclusive)
    requireServer(nc, PRIORITY_GROUPS_SINCE, `${where}: exclusive (pinned priority groups)`);
  else if (opts.overflow)
    requireServer(nc, PRIORITY_GROUPS_SINCE, `${where}: overflow (priority groups)`);
}

/** The consumer fields an exclusive or overflow handler adds (see `withPriorityDefaults`). */
export function priorityConsumerConfig(opts: JetStreamHandlerOptions): Partial<ConsumerConfig> {
  if (isPinned(opts)) {
    const { maxAckPending, ackWait } = withPriorityDefaults(opts);
    return {
      priorityGroups: [EXCLUSIVE_GROUP],
      priorityPolicy: 'pinned_client',
      priorityTimeout: priorityTimeoutOf(opts),
      maxAckPending,
      ...(ackWait !== undefined ? { ackWait } : {}),
    };
  }
  if (opts.overflow) return { priorityGroups: [OVERFLOW_GROUP], priorityPolicy: 'overflow' };
  return {};
}

/**
 * What the handler's `consume()` adds: its group, a helper's `minPending`, and for an exclusive
 * handler pulls that last at most half the `priorityTimeout`, so the pin holds while it is idle.
 */
export function priorityPullOptions(
  opts: JetStreamHandlerOptions,
  expires: number,
): Pick<ConsumeOptions, 'group' | 'minPending' | 'expires'> {
  if (isPinned(opts)) {
    const half = Math.max(1000, Math.floor(priorityTimeoutOf(opts) / 2));
    return { group: EXCLUSIVE_GROUP, expires: Math.min(expires, half) };
  }
  if (opts.overflow) {
    return {
      group: OVERFLOW_GROUP,
      expires,
      ...(opts.overflow.helper ? { minPending: opts.overflow.minPending } : {}),
    };
  }
  return { expires };
}

/**
 * Why an existing consumer cannot serve the handler as declared: its priority groups or policy
 * differ. Never changed at start-up: instances of an older deployment still pulling without (or
 * with another) group would have all their pulls refused. Undefined when they fit.
 */
export function priorityMismatch(
  opts: JetStreamHandlerOptions,
  current: ConsumerConfig,
): string | undefined {
  const want = priorityConsumerConfig(opts);
  const policy = current.priorityPolicy ?? 'none';
  const groups = current.priorityGroups ?? [];
  if (want.priorityPolicy === undefined) {
    if (policy === 'none') return undefined;
    return (
      `it has the '${policy}' priority policy (groups ${groups.join(', ')}) that this handler does not declare; ` +
      'declare exclusive or overflow to match, or delete the consumer to recreate it'
    );
  }
  const group = want.priorityGroups![0];
  if (policy === want.priorityPolicy && groups.includes(group)) return undefined;
  const has =
    policy === 'none'
      ? 'no priority groups'
      : `the '${policy}' policy (groups ${groups.join(', ')})`;
  return (
    `the handler needs the '${want.priorityPolicy}' priority policy with group '${group}' but the consumer has ${has}. ` +
    'It is left unchanged: instances still pulling as before would be refused. Stop them and delete the ' +
    'consumer (it is then recreated with its group), or give the handler a new durable'
  );
}
