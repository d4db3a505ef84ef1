// The core's side of OpenTelemetry, with no OpenTelemetry type in it. The layer lib/telemetry
// implements these hooks over `@opentelemetry/api` and is loaded only by `loadTelemetry()`, with
// a dynamic import at the first connect: the core itself has no dependency.

/** Span and metric attributes, as OpenTelemetry takes them. */
export type TelemetryAttributes = Record<string, string | number | boolean | undefined>;

/** Reads and writes message headers for trace context propagation. */
export interface HeaderCarrier {
  get(name: string): string | undefined;
  /** Sets a header unless it is already there (a header the user set is never written over). */
  set(name: string, value: string): void;
  keys(): string[];
}

/** The messaging operations, as span names and `messaging.operation.name` spell them. */
export type SendOperation = 'publish' | 'send';
export type ClientOperation = 'receive' | 'settle';

/** A span in progress, as the core and the upper layers hold it. */
export interface TelemetrySpan {
  setAttributes(attrs: TelemetryAttributes): void;
  /**
   * Marks the span failed (status ERROR, the error recorded as its exception and `error.type`)
   * without ending it. The first failure is the one kept.
   */
  fail(error: unknown): void;
  /** Ends the span; an error marks it failed. Later calls do nothing. */
  end(error?: unknown): void;
}

/**
 * How a process span relates to the context in the message headers: a `child` of it, or a
 * `link` to it (a stored JetStream message). `pulled` is a link for a message that a `receive`
 * span already counted in `messaging.client.consumed.messages`.
 */
export type ProcessRelation = 'child' | 'link' | 'pulled';

/**
 * What the core, JetStream and the Nest layer call while telemetry is active (and only then:
 * the connection holds `null` otherwise). `destination` is what the span name carries: a
 * subject, or the subscription's pattern with its wildcards; never an inbox.
 */
export interface TelemetryHooks {
  /** True while a TracerProvider or a MeterProvider is registered. Cheap enough for a timer. */
  active(): boolean;
  /** True while a TracerProvider is registered (headers are injected only then). */
  tracing(): boolean;
  /**
   * Starts a PRODUCER (`publish`) or CLIENT (`send`) span and writes its context into
   * `headers`. Counts `messaging.client.sent.messages`; `end()` records the operation duration.
   */
  send(
    op: SendOperation,
    destination: string,
    headers: HeaderCarrier,
    attrs: TelemetryAttributes,
  ): TelemetrySpan;
  /**
   * Runs `fn` in a CONSUMER `process` span whose parent (or link) comes from `headers`; the span
   * ends when `fn` returns, or when its promise settles. Records `messaging.process.duration`
   * and `messaging.client.consumed.messages`.
   */
  process<T>(
    destination: string,
    headers: HeaderCarrier | undefined,
    relation: ProcessRelation,
    attrs: TelemetryAttributes,
    fn: (span: TelemetrySpan) => T,
  ): T;
  /**
   * Starts a CLIENT `receive` or `settle` span, at `startedAt` (a `performance.now()` time) when
   * given; `end()` records the operation duration and, for `receive`, counts the
   * `messaging.batch.message_count` messages in `messaging.client.consumed.messages`.
   */
  client(
    op: ClientOperation,
    destination: string,
    attrs: TelemetryAttributes,
    startedAt?: number,
  ): TelemetrySpan;
}

/** What `lib/telemetry` exports to the core. */
export interface TelemetryModule {
  /** Hooks over `@opentelemetry/api`, or null when it cannot be loaded. */
  loadHooks(version: string): Promise<TelemetryHooks | null>;
}

let loading: Promise<TelemetryHooks | null> | undefined;

/**
 * The hooks, loaded once per process: null when `@opentelemetry/api` is not installed (or this
 * layer cannot be loaded), and then for good.
 */
export function loadTelemetry(): Promise<TelemetryHooks | null> {
  loading ??= import('../../telemetry/internal.js').then(
    (mod: TelemetryModule) => mod.loadHooks(LIBRARY_VERSION),
    () => null,
  );
  return loading;
}

/** The instrumentation scope version reported with every span and metric. */
const LIBRARY_VERSION = '0.1.0';
