import {
  ConsumerNotFoundError,
  ErrorCode,
  JetStreamApiError,
  JsApiCode,
} from '../core/internal.js';
import type { ConsumerConfig, ConsumerInfo } from './consumer-config.js';
import type { StreamsApi } from './manager/streams.js';

/** One field where an asked-for consumer config differs from the existing consumer's. */
export interface ConsumerConflict {
  /** The camelCase config field (`ackWait`, `filterSubject`...). */
  field: string;
  /** What was asked for. */
  wanted: unknown;
  /** What the existing consumer has (undefined when unset). */
  actual: unknown;
}

/**
 * A consumer with this name exists with a config other than the one asked for; it was left
 * unchanged. `fields` names the differences. Binding (`pullSubscribe`, `subscribe` with a
 * durable) raises it before sending anything that could change the consumer; `consumers.add()`
 * raises it when nats-server 2.10+ refuses to overwrite the consumer (API error 10148).
 */
export class ConsumerConfigConflictError extends JetStreamApiError {
  /** The conflicting camelCase fields, e.g. `['ackWait', 'filterSubject']`. */
  readonly fields: string[];

  constructor(
    /** The stream of the existing consumer. */
    readonly stream: string,
    /** The name of the existing consumer. */
    readonly consumer: string,
    /** Each field that differs, with what was asked for and what the consumer has. */
    readonly conflicts: ConsumerConflict[],
  ) {
    const detail = conflicts.length
      ? conflicts.map((c) => `${c.field} is ${show(c.actual)}, not ${show(c.wanted)}`).join('; ')
      : 'the server reports a difference in a field left to its default';
    super(
      `consumer ${stream}/${consumer} exists with a different config (left unchanged): ${detail}`,
      JsApiCode.CONSUMER_ALREADY_EXISTS,
      400,
      ErrorCode.CONSUMER_CONFIG_CONFLICT,
    );
    this.fields = conflicts.map((c) => c.field);
  }
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}

/** Fields that identify the consumer rather than configure it, or are compared elsewhere. */
const SKIPPED = new Set(['name', 'durableName', 'filterSubject', 'filterSubjects']);

/** What the server stores for a field left unset (nats-server 2.9 through 2.14). */
const SERVER_DEFAULTS: Record<string, unknown> = {
  deliverPolicy: 'all',
  ackPolicy: 'explicit',
  ackWait: 30_000,
  maxDeliver: -1,
  replayPolicy: 'instant',
  maxAckPending: 1000,
  maxWaiting: 512,
};

function same(field: string, wanted: unknown, actual: unknown): boolean {
  if (field === 'metadata') {
    // Servers add their own `_nats.*` keys; only the asked-for keys must match.
    const have = (actual ?? {}) as Record<string, unknown>;
    return Object.entries(wanted as Record<string, unknown>).every(([k, v]) => have[k] === v);
  }
  if (field === 'optStartTime' && typeof wanted === 'string' && typeof actual === 'string')
    return Date.parse(wanted) === Date.parse(actual);
  // A Date or RFC 3339 text; the server keeps it in UTC.
  if (field === 'pauseUntil' && typeof actual === 'string')
    return new Date(wanted as Date | string).getTime() === Date.parse(actual);
  // The server leaves false, zero and empty values out of its JSON.
  if (actual === undefined) {
    if (wanted === false || wanted === 0 || wanted === '') return true;
    if (Array.isArray(wanted) && wanted.length === 0) return true;
  }
  // A consumer's replicas of 0 means "as many as the stream"; a standalone stream has one.
  if (field === 'numReplicas' && (actual ?? 0) === 0 && wanted === 1) return true;
  return JSON.stringify(wanted) === JSON.stringify(actual);
}

/** The filter subjects of a config, as a sorted list (empty: the whole stream). */
export function filtersOf(config: ConsumerConfig): string[] {
  const many = (config as { filterSubjects?: unknown }).filterSubjects;
  if (Array.isArray(many) && many.length > 0) return [...(many as string[])].sort();
  return config.filterSubject ? [config.filterSubject] : [];
}

/**
 * The fields of `wanted` (only those set) that differ from `actual`. Filters are compared as
 * sets; an unfiltered consumer matches a filter that covers its whole stream (`streamSubjects`
 * decides; when absent, an unfiltered consumer matches only no filter). With `defaults`, a field
 * left out of `wanted` is compared with the server's default (what a create would store).
 */
export function configConflicts(
  wanted: ConsumerConfig,
  actual: ConsumerConfig,
  opts: { streamSubjects?: string[]; defaults?: boolean } = {},
): ConsumerConflict[] {
  const out: ConsumerConflict[] = [];
  const want = wanted as Record<string, unknown>;
  const have = actual as Record<string, unknown>;
  for (const [field, value] of Object.entries(want)) {
    if (value === undefined || SKIPPED.has(field)) continue;
    if (!same(field, value, have[field])) out.push({ field, wanted: value, actual: have[field] });
  }
  if (opts.defaults) {
    for (const [field, value] of Object.entries(have)) {
      if (want[field] !== undefined || SKIPPED.has(field) || value === undefined) continue;
      if (field === 'metadata' || field === 'numReplicas' || field === 'memStorage') continue;
      const dflt = SERVER_DEFAULTS[field];
      if (field === 'maxWaiting' && have.deliverSubject) continue;
      if (!same(field, value, dflt)) out.push({ field, wanted: dflt, actual: value });
    }
  }
  const wantedFilters = filtersOf(wanted);
  const actualFilters = filtersOf(actual);
  const wholeStream =
    actualFilters.length === 0 &&
    (wantedFilters.length === 0 ||
      (opts.streamSubjects !== undefined &&
        (JSON.stringify(wantedFilters) === JSON.stringify([...opts.streamSubjects].sort()) ||
          JSON.stringify(wantedFilters) === '[">"]')));
  if (!wholeStream && JSON.stringify(wantedFilters) !== JSON.stringify(actualFilters)) {
    const field = wanted.filterSubject !== undefined ? 'filterSubject' : 'filterSubjects';
    out.push({ field, wanted: wantedFilters, actual: actualFilters });
  }
  return out;
}

/** The filter check needs the stream's subjects only when the consumer has no filter. */
export function needsStreamSubjects(wanted: ConsumerConfig, actual: ConsumerConfig): boolean {
  return filtersOf(actual).length === 0 && filtersOf(wanted).length > 0;
}

/**
 * Throws `ConsumerConfigConflictError` when the fields set in `wanted` disagree with the
 * existing consumer `info`. Reads the stream's subjects only to tell whether a filter covers a
 * consumer that has none.
 */
export async function checkBinding(
  streams: StreamsApi,
  info: ConsumerInfo,
  wanted: ConsumerConfig,
): Promise<void> {
  const streamSubjects = needsStreamSubjects(wanted, info.config)
    ? ((await streams.info(info.streamName)).config.subjects ?? [])
    : undefined;
  const conflicts = configConflicts(wanted, info.config, { streamSubjects });
  if (conflicts.length > 0)
    throw new ConsumerConfigConflictError(info.streamName, info.name, conflicts);
}

/**
 * What binding uses of `jsm.consumers` (`ConsumersApi`, which imports this file for the conflict
 * check, so it is named by its shape here).
 */
export interface ConsumerAdmin {
  info(stream: string, name: string): Promise<ConsumerInfo>;
  add(stream: string, config: ConsumerConfig): Promise<ConsumerInfo>;
}

/**
 * The info of consumer `name` when it exists and agrees with `wanted` (it is never changed),
 * undefined when it does not exist. Rejects with `ConsumerConfigConflictError` when it
 * disagrees, `StreamNotFoundError` when the stream is missing.
 */
export async function existingConsumer(
  admin: ConsumerAdmin,
  streams: StreamsApi,
  stream: string,
  name: string,
  wanted: ConsumerConfig,
): Promise<ConsumerInfo | undefined> {
  let info: ConsumerInfo;
  try {
    info = await admin.info(stream, name);
  } catch (err) {
    if (err instanceof ConsumerNotFoundError) return undefined;
    throw err;
  }
  await checkBinding(streams, info, wanted);
  return info;
}

/**
 * Binds to consumer `name` as it is when it exists (checking `wanted` against it), else creates
 * it from `wanted`. A create that races another client's is settled by binding to theirs.
 */
export async function bindOrCreate(
  admin: ConsumerAdmin,
  streams: StreamsApi,
  stream: string,
  name: string,
  wanted: ConsumerConfig,
  create: ConsumerConfig = wanted,
): Promise<{ info: ConsumerInfo; created: boolean }> {
  const existing = await existingConsumer(admin, streams, stream, name, wanted);
  if (existing) return { info: existing, created: false };
  try {
    return { info: await admin.add(stream, create), created: true };
  } catch (err) {
    if (!(err instanceof ConsumerConfigConflictError)) throw err;
    const raced = await existingConsumer(admin, streams, stream, name, wanted);
    if (!raced) throw err;
    return { info: raced, created: false };
  }
}
