import {
  ServiceResponseType,
  type EndpointInfo,
  type EndpointStats,
  type ServiceIdentity,
  type ServiceInfo,
  type ServicePing,
  type ServiceStats,
} from './types.js';
import { setKey } from './validate.js';

// The JSON documents of the monitoring subjects, exactly as ADR-32 spells them: snake_case,
// processing times in nanoseconds, `started` as an RFC 3339 string.

/** Identity fields shared by every monitoring response. */
export interface WireIdentity {
  type: string;
  name: string;
  id: string;
  version: string;
  metadata?: Record<string, string> | null;
}

/** One endpoint of an INFO response. `metadata` is null (Go) or missing (JS) when unset. */
export interface WireEndpointInfo {
  name: string;
  subject: string;
  queue_group?: string;
  metadata?: Record<string, string> | null;
}

/** An INFO response. */
export interface WireInfo extends WireIdentity {
  description?: string;
  endpoints?: WireEndpointInfo[] | null;
}

/** One endpoint of a STATS response. */
export interface WireEndpointStats {
  name: string;
  subject: string;
  queue_group?: string;
  num_requests: number;
  num_errors: number;
  last_error?: string;
  processing_time: number;
  average_processing_time: number;
  data?: unknown;
}

/** A STATS response. */
export interface WireStats extends WireIdentity {
  started: string;
  endpoints?: WireEndpointStats[] | null;
}

const nsToMs = (ns: number): number => ns / 1_000_000;
const msToNs = (ms: number): number => Math.round(ms * 1_000_000);

function identityToWire(id: ServiceIdentity): WireIdentity {
  return { type: id.type, name: id.name, id: id.id, version: id.version, metadata: id.metadata };
}

function endpointInfoToWire(e: EndpointInfo): WireEndpointInfo {
  const out: WireEndpointInfo = { name: e.name, subject: e.subject };
  if (e.queueGroup !== undefined) out.queue_group = e.queueGroup;
  out.metadata = e.metadata ?? null;
  return out;
}

/** The JSON of a PING response. */
export function pingToWire(ping: ServicePing): WireIdentity {
  return identityToWire(ping);
}

/** The JSON of an INFO response. */
export function infoToWire(info: ServiceInfo): WireInfo {
  return {
    ...identityToWire(info),
    description: info.description,
    endpoints: info.endpoints.map(endpointInfoToWire),
  };
}

/** The JSON of a STATS response. */
export function statsToWire(stats: ServiceStats): WireStats {
  return {
    ...identityToWire(stats),
    started: stats.started.toISOString(),
    endpoints: stats.endpoints.map((e) => ({
      name: e.name,
      subject: e.subject,
      ...(e.queueGroup === undefined ? {} : { queue_group: e.queueGroup }),
      num_requests: e.numRequests,
      num_errors: e.numErrors,
      last_error: e.lastError,
      processing_time: msToNs(e.processingTime),
      average_processing_time: msToNs(e.averageProcessingTime),
      ...(e.data === undefined ? {} : { data: e.data }),
    })),
  };
}

// ---- parsing: tolerant of the Go and JS variants -------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) setKey(out, k, String(val));
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function identityFromWire(w: Record<string, unknown>): Omit<ServiceIdentity, 'type'> {
  return {
    name: str(w.name),
    id: str(w.id),
    version: str(w.version),
    metadata: stringMap(w.metadata) ?? {},
  };
}

function endpointInfoFromWire(w: Record<string, unknown>): EndpointInfo {
  const out: EndpointInfo = { name: str(w.name), subject: str(w.subject) };
  if (typeof w.queue_group === 'string' && w.queue_group !== '') out.queueGroup = w.queue_group;
  const metadata = stringMap(w.metadata);
  if (metadata !== undefined) out.metadata = metadata;
  return out;
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** Parses a PING response; undefined when `json` is not one. */
export function pingFromWire(json: unknown): ServicePing | undefined {
  if (!isRecord(json) || json.type !== ServiceResponseType.PING) return undefined;
  return { type: ServiceResponseType.PING, ...identityFromWire(json) };
}

/** Parses an INFO response; undefined when `json` is not one. */
export function infoFromWire(json: unknown): ServiceInfo | undefined {
  if (!isRecord(json) || json.type !== ServiceResponseType.INFO) return undefined;
  return {
    type: ServiceResponseType.INFO,
    ...identityFromWire(json),
    description: str(json.description),
    endpoints: list(json.endpoints).map(endpointInfoFromWire),
  };
}

/** Parses a STATS response; undefined when `json` is not one. */
export function statsFromWire(json: unknown): ServiceStats | undefined {
  if (!isRecord(json) || json.type !== ServiceResponseType.STATS) return undefined;
  return {
    type: ServiceResponseType.STATS,
    ...identityFromWire(json),
    started: new Date(str(json.started)),
    endpoints: list(json.endpoints).map((w) => {
      const out: EndpointStats = {
        ...endpointInfoFromWire(w),
        numRequests: num(w.num_requests),
        numErrors: num(w.num_errors),
        lastError: str(w.last_error),
        processingTime: nsToMs(num(w.processing_time)),
        averageProcessingTime: nsToMs(num(w.average_processing_time)),
      };
      if (w.data !== undefined && w.data !== null) out.data = w.data;
      return out;
    }),
  };
}
