// An OpenTelemetry SDK for the telemetry specs: spans kept in memory, metrics read on demand, W3C
// trace context and baggage propagation, and async context through AsyncLocalStorage.
import { context, metrics, propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** A metric reader that collects when asked. */
class TestMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestTelemetry {
  exporter: InMemorySpanExporter;
  reader: TestMetricReader;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** Every metric recorded so far, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  /** Unregisters everything (the API falls back to its no-ops). */
  disable(): Promise<void>;
}

/** Registers a TracerProvider, a MeterProvider, the W3C propagators and a context manager. */
export function registerTestTelemetry(): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    exporter,
    reader,
    spans: () => exporter.getFinishedSpans(),
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      const out = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics)
        for (const m of scope.metrics) out.set(m.descriptor.name, m);
      return out;
    },
    async disable() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The span named `name`; throws when there is none or more than one. */
export function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1)
    throw new Error(
      `expected one span '${name}', found ${found.length} in [${spans.map((s) => s.name).join(', ')}]`,
    );
  return found[0];
}

/** The parent span id of a span (SDK 2 keeps it in `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Sum of a counter's (or count of a histogram's) data points whose attributes match. */
export function metricTotal(
  metric: MetricData | undefined,
  attrs: Record<string, unknown> = {},
): number {
  if (metric === undefined) return 0;
  let total = 0;
  for (const point of metric.dataPoints as DataPoint<unknown>[]) {
    if (!Object.entries(attrs).every(([k, v]) => point.attributes[k] === v)) continue;
    const value = point.value as number | { count: number };
    total += typeof value === 'number' ? value : value.count;
  }
  return total;
}

export { SpanKind, SpanStatusCode };
