/** Which client a worker measures: this package's core client or nats.js. */
export type ClientKind = 'ours' | 'natsjs';

export const CLIENTS: readonly ClientKind[] = ['ours', 'natsjs'];

export const CLIENT_LABEL: Record<ClientKind, string> = { ours: 'ours', natsjs: 'nats.js' };

/** A figure a case reports, and how to judge it against the peer client. */
export interface MetricSpec {
  /** Key in the object that `run()` resolves. */
  key: string;
  /** Row label in the results table. */
  label: string;
  unit: 'msgs/s' | 'µs' | 'MB/s';
  /** Whether a bigger number is better (throughput) or a smaller one (latency). */
  better: 'higher' | 'lower';
  /**
   * The goal, as ours/nats.js: at least `ratio` for 'higher', at most `ratio` for 'lower'.
   * `maxRssMb` also bounds the peak RSS of our worker.
   */
  target?: { ratio: number; maxRssMb?: number };
}

/** What `run()` resolves: one number per metric key. */
export type Figures = Record<string, number>;

/**
 * One benchmark. `run()` executes in a fresh worker process that loads only the client it
 * measures, so the worker's peak RSS belongs to that client alone.
 */
export interface BenchCase {
  /** Stable id, unique within its group; used on the command line (`--only`). */
  id: string;
  /** A sentence on what is measured, for the README-style notes in RESULTS.md. */
  description: string;
  metrics: MetricSpec[];
  /**
   * What the peer (the 'natsjs' client kind) is in this case, for the table and the log, when
   * it is not nats.js itself (e.g. 'Nest built-in'). @default 'nats.js'
   */
  peer?: string;
  /** The oldest nats-server release that has what the case measures; older ones skip it. */
  minServer?: string;
  run(client: ClientKind, url: string): Promise<Figures>;
}

/** The default export of every module in `bench/cases/`. */
export interface BenchGroup {
  name: string;
  cases: BenchCase[];
}

/** What a worker prints (after `RESULT_MARKER`) for the runner. */
export interface WorkerResult {
  figures: Figures;
  /** Peak RSS in bytes: the larger of the sampled peak and getrusage's maxRSS. */
  peakRss: number;
  /** Largest `process.memoryUsage.rss()` sample, in bytes. */
  sampledRss: number;
  /** `process.resourceUsage().maxRSS`, converted to bytes. */
  maxRss: number;
  /**
   * CPU time (user + system) the worker spent in `run()`, in ms. Unlike wall-clock figures it
   * hardly moves when other processes compete for the cores.
   */
  cpuMs: number;
}

export const RESULT_MARKER = 'BENCH-RESULT ';
