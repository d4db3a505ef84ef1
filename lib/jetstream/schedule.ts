// Message schedules (ADR-51): a message on its own subject whose `Nats-Schedule` header makes
// the stream publish its body to `Nats-Schedule-Target` (a subject of the same stream) later.
// nats-server 2.12 knows `@at <RFC 3339>` only; 2.14 adds `@every`, cron, a source subject and
// a time zone. The server removes an `@at` schedule once it has fired.
import {
  InvalidOptionError,
  isValidPublishSubject,
  MsgHeaders,
  requireServer,
  type HeadersInit,
  type NatsConnection,
} from '../core/internal.js';
import type { JsApi } from './api.js';
import { jsPublish, type PubAck } from './publish.js';

/** When a schedule fires (exactly one of `at`, `every`, `cron`) and what it publishes where. */
export interface ScheduleOptions {
  /** Fire once at this time (nats-server 2.12+). */
  at?: Date;
  /** Fire every this many milliseconds, at least 1000 (nats-server 2.14+). */
  every?: number;
  /** Fire on a 6-field cron pattern (seconds first) or `@hourly`, `@daily`... (2.14+). */
  cron?: string;
  /** The subject the stream publishes to; it must belong to the same stream. */
  target: string;
  /** The body to publish. @default empty */
  data?: Uint8Array | string;
  /** More headers for the published message. */
  headers?: HeadersInit;
  /** Per-message TTL of each published message, in whole seconds as milliseconds (>= 1000). */
  ttl?: number;
  /** Publish the last message of this subject instead of `data` (nats-server 2.14+). */
  source?: string;
  /** IANA time zone of a `cron` pattern, e.g. `Europe/Paris` (nats-server 2.14+). @default UTC */
  timeZone?: string;
  /** Milliseconds to wait for the PubAck. @default the client's timeout (5000) */
  timeout?: number;
}

const AT_SINCE = '2.12.0';
const REPEAT_SINCE = '2.14.0';

function checkSubject(name: string, s: string): void {
  if (!isValidPublishSubject(s))
    throw new InvalidOptionError(`schedule ${name} ${JSON.stringify(s)} is not a publish subject`);
}

function pattern(nc: NatsConnection, o: ScheduleOptions): string {
  const given = (['at', 'every', 'cron'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw new InvalidOptionError('a schedule takes exactly one of at, every and cron');
  if (o.timeZone !== undefined && o.cron === undefined)
    throw new InvalidOptionError('timeZone applies to a cron schedule only');
  if (o.at !== undefined) {
    if (!(o.at instanceof Date) || Number.isNaN(o.at.getTime()))
      throw new InvalidOptionError('schedule at must be a valid Date');
    requireServer(nc, AT_SINCE, 'message schedules');
    return `@at ${o.at.toISOString()}`;
  }
  if (o.every !== undefined) {
    if (!Number.isInteger(o.every) || o.every < 1000)
      throw new InvalidOptionError(
        `schedule every must be whole milliseconds >= 1000, got ${o.every}`,
      );
    requireServer(nc, REPEAT_SINCE, 'schedule every');
    return `@every ${o.every}ms`;
  }
  const cron = (o.cron ?? '').trim();
  if (cron === '' || cron.startsWith('@at') || cron.startsWith('@every'))
    throw new InvalidOptionError(`invalid cron pattern ${JSON.stringify(o.cron)} (use at / every)`);
  requireServer(nc, REPEAT_SINCE, 'schedule cron');
  return cron;
}

/** The headers of a schedule message; throws before anything is sent. */
export function scheduleHeaders(
  nc: NatsConnection,
  subject: string,
  o: ScheduleOptions,
): MsgHeaders {
  const h = new MsgHeaders();
  if (o.headers !== undefined)
    for (const [k, v] of MsgHeaders.from(o.headers)) {
      if (k.toLowerCase().startsWith('nats-schedule'))
        throw new InvalidOptionError(`set ${k} through the schedule options, not headers`);
      h.set(k, v);
    }
  h.set('Nats-Schedule', pattern(nc, o));
  checkSubject('target', o.target);
  if (o.target === subject)
    throw new InvalidOptionError('a schedule cannot target its own subject');
  h.set('Nats-Schedule-Target', o.target);
  if (o.ttl !== undefined) {
    if (!Number.isInteger(o.ttl) || o.ttl < 1000 || o.ttl % 1000 !== 0)
      throw new InvalidOptionError(`schedule ttl must be whole seconds (>= 1000 ms), got ${o.ttl}`);
    h.set('Nats-Schedule-TTL', `${o.ttl / 1000}s`);
  }
  if (o.source !== undefined) {
    checkSubject('source', o.source);
    if (o.source === o.target || o.source === subject)
      throw new InvalidOptionError('a schedule source must differ from its subject and target');
    requireServer(nc, REPEAT_SINCE, 'schedule source');
    h.set('Nats-Schedule-Source', o.source);
  }
  if (o.timeZone !== undefined) {
    if (o.timeZone.trim() === '') throw new InvalidOptionError('schedule timeZone is empty');
    requireServer(nc, REPEAT_SINCE, 'schedule timeZone');
    h.set('Nats-Schedule-Time-Zone', o.timeZone);
  }
  return h;
}

/** Publishes the schedule message on `subject` (one schedule per subject; a new one replaces it). */
export async function publishSchedule(
  api: JsApi,
  subject: string,
  o: ScheduleOptions,
): Promise<PubAck> {
  checkSubject('subject', subject);
  const headers = scheduleHeaders(api.nc, subject, o);
  return jsPublish(api, subject, o.data, { headers, timeout: o.timeout });
}
