// Which JSON members each nats-server release knows in stream and consumer configurations
// (read from the server's StreamConfig / ConsumerConfig json tags per release). 2.12+ refuses
// unknown members of API requests, 2.11 does with `jetstream { strict: true }`, and older
// servers drop them silently: a member the connected server lacks is refused before sending.
import { InvalidOptionError, requireServer, type NatsConnection } from '../core/internal.js';

/**
 * A member's oldest release, and for an object (or a list of objects) its own members, or for an
 * enumeration the oldest release of each value a later release added.
 */
type Field =
  | string
  | { since: string; fields: FieldTable }
  | { since: string; values: Readonly<Record<string, string>> };
type FieldTable = Readonly<Record<string, Field>>;

const BASE = '2.9.0';

const SUBJECT_TRANSFORM: FieldTable = { src: '2.10.0', dest: '2.10.0' };

const STREAM_SOURCE: FieldTable = {
  name: BASE,
  opt_start_seq: BASE,
  opt_start_time: BASE,
  filter_subject: BASE,
  external: { since: BASE, fields: { api: BASE, deliver: BASE } },
  subject_transforms: { since: '2.10.0', fields: SUBJECT_TRANSFORM },
  consumer: { since: '2.14.0', fields: { name: '2.14.0', deliver_subject: '2.14.0' } },
};

const STREAM: FieldTable = {
  name: BASE,
  description: BASE,
  subjects: BASE,
  retention: BASE,
  max_consumers: BASE,
  max_msgs: BASE,
  max_bytes: BASE,
  max_age: BASE,
  max_msgs_per_subject: BASE,
  max_msg_size: BASE,
  discard: BASE,
  storage: BASE,
  num_replicas: BASE,
  no_ack: BASE,
  duplicate_window: BASE,
  placement: { since: BASE, fields: { cluster: BASE, tags: BASE, preferred: '2.11.0' } },
  mirror: { since: BASE, fields: STREAM_SOURCE },
  sources: { since: BASE, fields: STREAM_SOURCE },
  sealed: BASE,
  deny_delete: BASE,
  deny_purge: BASE,
  allow_rollup_hdrs: BASE,
  allow_direct: BASE,
  mirror_direct: BASE,
  republish: { since: BASE, fields: { src: BASE, dest: BASE, headers_only: BASE } },
  discard_new_per_subject: BASE,
  compression: '2.10.0',
  first_seq: '2.10.0',
  subject_transform: { since: '2.10.0', fields: SUBJECT_TRANSFORM },
  metadata: '2.10.0',
  consumer_limits: {
    since: '2.10.0',
    fields: { inactive_threshold: '2.10.0', max_ack_pending: '2.10.0' },
  },
  allow_msg_ttl: '2.11.0',
  subject_delete_marker_ttl: '2.11.0',
  allow_atomic: '2.12.0',
  allow_msg_counter: '2.12.0',
  allow_msg_schedules: '2.12.0',
  persist_mode: '2.12.0',
  allow_batched: '2.14.0',
};

const CONSUMER: FieldTable = {
  name: BASE,
  durable_name: BASE,
  description: BASE,
  deliver_policy: BASE,
  opt_start_seq: BASE,
  opt_start_time: BASE,
  ack_policy: { since: BASE, values: { flow_control: '2.14.0' } },
  ack_wait: BASE,
  max_deliver: BASE,
  backoff: BASE,
  filter_subject: BASE,
  replay_policy: BASE,
  rate_limit_bps: BASE,
  sample_freq: BASE,
  max_waiting: BASE,
  max_ack_pending: BASE,
  idle_heartbeat: BASE,
  flow_control: BASE,
  headers_only: BASE,
  max_batch: BASE,
  max_expires: BASE,
  max_bytes: BASE,
  deliver_subject: BASE,
  deliver_group: BASE,
  inactive_threshold: BASE,
  num_replicas: BASE,
  mem_storage: BASE,
  direct: BASE,
  filter_subjects: '2.10.0',
  metadata: '2.10.0',
  pause_until: '2.11.0',
  priority_groups: '2.11.0',
  priority_policy: { since: '2.11.0', values: { prioritized: '2.12.0' } },
  priority_timeout: '2.11.0',
  sourcing: '2.14.0',
};

function check(
  nc: NatsConnection,
  kind: string,
  path: string,
  value: unknown,
  table: FieldTable,
): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => check(nc, kind, `${path}[${i}]`, v, table));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const name = path ? `${path}.${key}` : key;
    const field = table[key];
    if (field === undefined)
      throw new InvalidOptionError(`${kind} config has no member ${JSON.stringify(name)}`);
    const since = typeof field === 'string' ? field : field.since;
    requireServer(nc, since, `${kind} config ${JSON.stringify(name)}`);
    if (typeof field === 'string') continue;
    if ('fields' in field) check(nc, kind, name, v, field.fields);
    else if (typeof v === 'string' && field.values[v] !== undefined)
      requireServer(
        nc,
        field.values[v],
        `${kind} config ${JSON.stringify(name)} ${JSON.stringify(v)}`,
      );
  }
}

/**
 * Refuses a stream config (wire form) with a member no nats-server release has
 * (`InvalidOptionError`) or one the connected server is too old for
 * (`FeatureNotSupportedError`, naming the release that added it).
 */
export function checkStreamFields(nc: NatsConnection, wire: Record<string, unknown>): void {
  check(nc, 'stream', '', wire, STREAM);
}

/** As `checkStreamFields()`, for a consumer config (wire form). */
export function checkConsumerFields(nc: NatsConnection, wire: Record<string, unknown>): void {
  check(nc, 'consumer', '', wire, CONSUMER);
}
