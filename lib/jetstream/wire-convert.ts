// Between the public objects (camelCase names, durations in milliseconds) and the server's JSON
// (snake_case names, durations in nanoseconds; wire-types.ts lists which members are which).
import { DURATION_FIELDS, OPAQUE_FIELDS } from './wire-types.js';

const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function convert(
  value: unknown,
  rename: (k: string) => string,
  duration: (v: number) => number,
  isDuration: (k: string) => boolean,
  isOpaque: (k: string) => boolean,
): unknown {
  if (Array.isArray(value))
    return value.map((v) => convert(v, rename, duration, isDuration, isOpaque));
  // Times travel as RFC 3339 text (`pause_until`).
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const name = rename(key);
    if (isOpaque(key)) out[name] = v;
    else if (isDuration(key) && typeof v === 'number') out[name] = duration(v);
    else if (isDuration(key) && Array.isArray(v))
      out[name] = v.map((d: unknown) => (typeof d === 'number' ? duration(d) : d));
    else out[name] = convert(v, rename, duration, isDuration, isOpaque);
  }
  return out;
}

/** Milliseconds to whole nanoseconds. */
export const msToNs = (ms: number): number => Math.round(ms * 1_000_000);
/** Nanoseconds to milliseconds. */
export const nsToMs = (ns: number): number => ns / 1_000_000;

/** A camelCase public object (durations in ms) as the server's snake_case JSON (ns). */
export function toWire(value: object): Record<string, unknown> {
  return convert(
    value,
    toSnake,
    msToNs,
    (k) => DURATION_FIELDS.has(toSnake(k)),
    (k) => OPAQUE_FIELDS.has(k),
  ) as Record<string, unknown>;
}

/** The server's snake_case JSON (ns) as a camelCase public object (ms). */
export function fromWire<T>(value: unknown): T {
  return convert(
    value,
    toCamel,
    nsToMs,
    (k) => DURATION_FIELDS.has(k),
    (k) => OPAQUE_FIELDS.has(k),
  ) as T;
}
