import { performance } from 'node:perf_hooks';

let peak = 0;

/** Records the current RSS; cases call it every `RSS_SAMPLE_MASK + 1` messages and at the end. */
export function sampleRss(): void {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
}

/** The largest RSS seen by `sampleRss()`, in bytes. */
export function sampledPeakRss(): number {
  return peak;
}

/** `(i & RSS_SAMPLE_MASK) === 0` every 65,536 messages. */
export const RSS_SAMPLE_MASK = 0xffff;

/** Milliseconds with sub-microsecond resolution. */
export const now = (): number => performance.now();

/** Messages per second for `count` messages handled since `start` (a `now()` reading). */
export function rate(count: number, start: number): number {
  return count / ((now() - start) / 1000);
}

/** The `p`-th percentile (0..100) of `values`, which is sorted in place. */
export function percentile(values: Float64Array, p: number): number {
  values.sort();
  const rank = Math.ceil((p / 100) * values.length) - 1;
  return values[Math.min(values.length - 1, Math.max(0, rank))];
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Resolves `promise`, or rejects when it takes longer than `ms` (the message says why). */
export function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
