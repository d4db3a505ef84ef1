// The server's JSON as it travels: snake_case names, durations in nanoseconds, timestamps as
// RFC 3339 strings. Public code never sees these; see stream-config.ts and consumer-config.ts for
// the camelCase forms, and wire-convert.ts for the conversion.

/** The `error` member of a failed API response. */
export interface ApiErrorWire {
  code: number;
  err_code?: number;
  description?: string;
}

/** Every API response carries an optional `error` and a `type`. */
export interface ApiResponseWire {
  type?: string;
  error?: ApiErrorWire;
}

/** Paging members of list and names responses. */
export interface ApiPagedWire extends ApiResponseWire {
  total: number;
  offset: number;
  limit: number;
}

/** The acknowledgement a stream sends for a publish. */
export interface PubAckWire extends ApiResponseWire {
  stream: string;
  seq: number;
  duplicate?: boolean;
  domain?: string;
}

export interface StreamNamesWire extends ApiPagedWire {
  streams: string[] | null;
}

export interface StreamListWire extends ApiPagedWire {
  streams: Record<string, unknown>[] | null;
}

export interface ConsumerNamesWire extends ApiPagedWire {
  consumers: string[] | null;
}

export interface ConsumerListWire extends ApiPagedWire {
  consumers: Record<string, unknown>[] | null;
}

export interface SuccessWire extends ApiResponseWire {
  success: boolean;
}

export interface PurgeResponseWire extends SuccessWire {
  purged: number;
}

/** `STREAM.MSG.GET` response: `hdrs` and `data` are standard base64. */
export interface MsgGetWire extends ApiResponseWire {
  message: { subject: string; seq: number; hdrs?: string; data?: string; time: string };
}

/** The body of `CONSUMER.MSG.NEXT` (durations in nanoseconds). */
export interface PullRequestWire {
  batch: number;
  expires?: number;
  max_bytes?: number;
  no_wait?: boolean;
  idle_heartbeat?: number;
  /** The priority group the pull belongs to (nats-server 2.11+). */
  group?: string;
  /** `overflow`: serve only while the consumer has at least this many pending (2.11+). */
  min_pending?: number;
  /** `overflow`: serve only while at least this many acks are pending (2.11+). */
  min_ack_pending?: number;
  /** `pinned_client`: the pin id the client was given (2.11+). */
  id?: string;
  /** `prioritized`: 0 (served first) to 9 (2.12+). */
  priority?: number;
}

/** `CONSUMER.PAUSE` response (nats-server 2.11+). */
export interface ConsumerPauseWire extends ApiResponseWire {
  paused: boolean;
  pause_until: string;
  pause_remaining?: number;
}

/** `CONSUMER.RESET` response (nats-server 2.14+): the consumer's info and the sequence. */
export interface ConsumerResetWire extends ApiResponseWire {
  reset_seq: number;
}

/** Wire member names whose values are durations in nanoseconds (arrays of them for `backoff`). */
export const DURATION_FIELDS: ReadonlySet<string> = new Set([
  'max_age',
  'duplicate_window',
  'ack_wait',
  'idle_heartbeat',
  'inactive_threshold',
  'max_expires',
  'backoff',
  'priority_timeout',
  // A cluster peer's time since it was last heard from.
  'active',
  'subject_delete_marker_ttl',
  'pause_remaining',
]);

/** Members whose values are user-keyed maps (subject counts, metadata): copied, never renamed. */
export const OPAQUE_FIELDS: ReadonlySet<string> = new Set(['subjects', 'metadata']);
