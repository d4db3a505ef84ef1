// Pulls on consumers with priority groups (ADR-42; nats-server 2.11+, `priority` 2.12+): the
// options a pull carries, their checks before sending, and the pin a `pinned_client` consumer
// hands out. Where the ADR and the server differ, this follows the server: 2.11 through 2.14
// send `Nats-Pin-Id` on every message delivered while pinned, and answer a pull with a stale id
// with status 423 (`Nats-Pin-Id mismatch` / `Nats-Wrong-Pin-Id`).
import {
  ErrorCode,
  InvalidOptionError,
  JetStreamApiError,
  requireServer,
  type HasServerInfo,
  type Msg,
} from '../core/internal.js';
import type { ConsumerConfig } from './consumer-config.js';
import type { PullRequestWire } from './wire-types.js';

/** Priority-group options of `fetch()`, `next()` and `consume()` (nats-server 2.11+). */
export interface PullPriorityOptions {
  /**
   * The priority group the pulls belong to: required on a consumer with `priorityGroups`, and
   * one of them (nats-server 2.11+).
   */
  group?: string;
  /**
   * `'overflow'` consumers: serve these pulls only while the consumer has at least this many
   * messages pending (nats-server 2.11+). With `minAckPending`, either one suffices.
   */
  minPending?: number;
  /**
   * `'overflow'` consumers: serve these pulls only while at least this many messages wait for
   * their ack (nats-server 2.11+).
   */
  minAckPending?: number;
  /**
   * `'prioritized'` consumers: 0 to 9; pulls with a lower number are served first (nats-server
   * 2.12+). @default 0
   */
  priority?: number;
}

/** The priority-group members of a pull request. */
export type PriorityMembers = Pick<
  PullRequestWire,
  'group' | 'min_pending' | 'min_ack_pending' | 'id' | 'priority'
>;

/**
 * A pull's priority-group options do not fit the consumer: a consumer with priority groups got a
 * pull naming none or another group, or an option its `priorityPolicy` does not take. Raised
 * before sending when the consumer's config is known, else from the server's status 400.
 */
export class PriorityGroupError extends JetStreamApiError {
  constructor(message: string, status = 400) {
    super(message, 0, status, ErrorCode.PRIORITY_GROUP);
  }
}

// nats-server's rule for group names (`validGroupName`).
const GROUP_NAME = /^[a-zA-Z0-9/_=-]{1,16}$/;

function positiveInt(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
    throw new InvalidOptionError(`${name} must be a positive integer`);
}

/**
 * Checks a pull's priority-group options before anything is sent: the server release
 * (`FeatureNotSupportedError`), their values (`InvalidOptionError`), and, when the consumer's
 * `config` is known, that they fit its groups and policy (`PriorityGroupError`).
 */
export function checkPriorityOptions(
  nc: HasServerInfo,
  opts: PullPriorityOptions,
  consumer?: { name: string; config: ConsumerConfig },
): void {
  const { group, minPending, minAckPending, priority } = opts;
  if (group !== undefined) {
    requireServer(nc, '2.11.0', 'pull option "group"');
    if (!GROUP_NAME.test(group))
      throw new InvalidOptionError(
        `invalid priority group ${JSON.stringify(group)}: 1 to 16 of A-Z a-z 0-9 / _ = -`,
      );
  }
  if (minPending !== undefined) requireServer(nc, '2.11.0', 'pull option "minPending"');
  if (minAckPending !== undefined) requireServer(nc, '2.11.0', 'pull option "minAckPending"');
  if (priority !== undefined) requireServer(nc, '2.12.0', 'pull option "priority"');
  positiveInt(minPending, 'minPending');
  positiveInt(minAckPending, 'minAckPending');
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 9))
    throw new InvalidOptionError('priority must be an integer from 0 to 9');
  if (consumer === undefined) return;
  const { name, config } = consumer;
  const policy = config.priorityPolicy ?? 'none';
  const groups = config.priorityGroups ?? [];
  const wanted = group ?? minPending ?? minAckPending ?? priority;
  if (policy === 'none') {
    if (wanted !== undefined)
      throw new PriorityGroupError(`consumer ${name} has no priority groups`);
    return;
  }
  if (group === undefined)
    throw new PriorityGroupError(
      `consumer ${name} has priority groups (${groups.join(', ')}): pulls must name one (group)`,
    );
  if (!groups.includes(group))
    throw new PriorityGroupError(
      `consumer ${name} has no priority group ${JSON.stringify(group)} (it has ${groups.join(', ')})`,
    );
  if ((minPending ?? minAckPending) !== undefined && policy !== 'overflow')
    throw new PriorityGroupError(
      `minPending and minAckPending need an 'overflow' consumer; ${name} is '${policy}'`,
    );
  if (priority !== undefined && policy !== 'prioritized')
    throw new PriorityGroupError(`priority needs a 'prioritized' consumer; ${name} is '${policy}'`);
}

/** The pull request members for `opts`, with the pin id when the client holds one. */
export function priorityMembers(opts: PullPriorityOptions, pinId?: string): PriorityMembers {
  const out: PriorityMembers = {};
  if (opts.group !== undefined) out.group = opts.group;
  if (opts.minPending !== undefined) out.min_pending = opts.minPending;
  if (opts.minAckPending !== undefined) out.min_ack_pending = opts.minAckPending;
  if (opts.priority !== undefined) out.priority = opts.priority;
  if (pinId !== undefined) out.id = pinId;
  return out;
}

/**
 * The pin a `pinned_client` consumer gave this client: taken from the `Nats-Pin-Id` header of
 * delivered messages and sent as `id` with every pull; dropped on a 423, after which the client
 * pulls as a standby (its pulls wait until the server pins it).
 */
export class Pin {
  /** The pin id held, if any. */
  id: string | undefined;

  /** A delivered message: keeps the pin id it carries. */
  observe(msg: Msg): void {
    if (!msg.hasHeaders) return;
    const id = msg.headers?.get('Nats-Pin-Id');
    if (id) this.id = id;
  }

  /** The server pinned another client (status 423). */
  drop(): void {
    this.id = undefined;
  }
}
