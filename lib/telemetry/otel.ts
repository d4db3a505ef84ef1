// The OpenTelemetry hooks of the core (lib/core/telemetry/hooks.ts), over `@opentelemetry/api`,
// an optional peer dependency: imported dynamically, and only its types statically. This layer
// imports nothing of ours; the core checks at its one call site that it fits the hook interface.
import type * as Api from '@opentelemetry/api';

type Attrs = Record<string, string | number | boolean | undefined>;

/** Reads and writes message headers (the core's `HeaderCarrier`). */
interface Carrier {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  keys(): string[];
}

const SCOPE = 'nestjs-nats';

/** Attributes that also go on the metrics (the rest, such as sequences, are too many). */
const METRIC_KEYS = new Set([
  'messaging.system',
  'messaging.operation.name',
  'messaging.operation.type',
  'messaging.destination.name',
  'messaging.destination.template',
  'messaging.consumer.group.name',
  'messaging.nats.stream',
  'messaging.nats.consumer',
  'messaging.nats.ack',
  'server.address',
  'server.port',
  'error.type',
]);

const setter: Api.TextMapSetter<Carrier> = { set: (c, key, value) => c.set(key, value) };
const getter: Api.TextMapGetter<Carrier> = { get: (c, key) => c.get(key), keys: (c) => c.keys() };

/** `@opentelemetry/api`, or null when it is not installed. */
async function importApi(): Promise<typeof Api | null> {
  try {
    const mod = (await import('@opentelemetry/api')) as typeof Api & { default?: typeof Api };
    return typeof mod.trace === 'object' ? mod : (mod.default ?? null);
  } catch {
    return null;
  }
}

/** The core's hooks over `@opentelemetry/api`, or null when it is not installed. */
export async function loadHooks(version: string): Promise<OtelHooks | null> {
  const api = await importApi();
  return api === null ? null : new OtelHooks(api, version);
}

interface Instruments {
  operationDuration: Api.Histogram;
  processDuration: Api.Histogram;
  sent: Api.Counter;
  consumed: Api.Counter;
}

/** Spans through the global TracerProvider, metrics through the global MeterProvider. */
export class OtelHooks {
  private readonly noopTracerProvider: Api.TracerProvider;
  private readonly noopMeter: object;
  private tracer: Api.Tracer | null = null;
  private meter: Api.Meter | null = null;
  private instruments: Instruments | null = null;

  constructor(
    private readonly api: typeof Api,
    private readonly version: string,
  ) {
    // The api's own no-op singletons: what the globals hold while no SDK is registered.
    this.noopTracerProvider = new api.ProxyTracerProvider().getDelegate();
    this.noopMeter = Object.getPrototypeOf(api.createNoopMeter()) as object;
  }

  active(): boolean {
    const { trace, metrics, ProxyTracerProvider } = this.api;
    const provider = trace.getTracerProvider();
    const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
    this.tracer =
      delegate === this.noopTracerProvider ? null : trace.getTracer(SCOPE, this.version);
    const meter = metrics.getMeter(SCOPE, this.version);
    if (Object.getPrototypeOf(meter) === this.noopMeter) {
      this.meter = null;
      this.instruments = null;
    } else if (meter !== this.meter) {
      this.meter = meter;
      this.instruments = createInstruments(meter);
    }
    return this.tracer !== null || this.instruments !== null;
  }

  tracing(): boolean {
    return this.tracer !== null;
  }

  send(op: 'publish' | 'send', destination: string, headers: Carrier, attrs: Attrs): OtelSpan {
    const { context, propagation, trace, SpanKind } = this.api;
    const all = this.attributes(op, 'send', destination, attrs);
    const kind = op === 'publish' ? SpanKind.PRODUCER : SpanKind.CLIENT;
    const span = this.tracer?.startSpan(`${op} ${destination}`, { kind, attributes: all });
    if (span !== undefined)
      propagation.inject(trace.setSpan(context.active(), span), headers, setter);
    this.instruments?.sent.add(1, metricAttributes(all));
    return new OtelSpan(this.api, span, all, this.instruments?.operationDuration);
  }

  process<T>(
    destination: string,
    headers: Carrier | undefined,
    relation: 'child' | 'link' | 'pulled',
    attrs: Attrs,
    fn: (span: OtelSpan) => T,
  ): T {
    const { context, propagation, trace, SpanKind } = this.api;
    const all = this.attributes('process', 'process', destination, attrs);
    const active = context.active();
    const incoming = headers === undefined ? active : propagation.extract(active, headers, getter);
    let parent = incoming;
    const options: Api.SpanOptions = { kind: SpanKind.CONSUMER, attributes: all };
    if (relation !== 'child') {
      const remote = trace.getSpanContext(incoming);
      if (remote !== undefined && remote !== trace.getSpanContext(active)) {
        options.links = [{ context: remote }];
        // The handler's span starts a trace of its own (or continues the local one), linked.
        parent = trace.deleteSpan(incoming);
      }
    }
    const span = this.tracer?.startSpan(`process ${destination}`, options, parent);
    // A pulled message was counted by its `receive` span.
    if (relation !== 'pulled') this.instruments?.consumed.add(1, metricAttributes(all));
    const handle = new OtelSpan(this.api, span, all, this.instruments?.processDuration);
    const ctx = span === undefined ? parent : trace.setSpan(parent, span);
    let result: T;
    try {
      result = context.with(ctx, fn, undefined, handle);
    } catch (err) {
      handle.end(err);
      throw err;
    }
    if (result instanceof Promise) {
      result.then(
        () => handle.end(),
        (err: unknown) => handle.end(err),
      );
    } else {
      handle.end();
    }
    return result;
  }

  client(
    op: 'receive' | 'settle',
    destination: string,
    attrs: Attrs,
    startedAt?: number,
  ): OtelSpan {
    const all = this.attributes(op, op, destination, attrs);
    const span = this.tracer?.startSpan(`${op} ${destination}`, {
      kind: this.api.SpanKind.CLIENT,
      attributes: all,
      startTime: startedAt === undefined ? undefined : performance.timeOrigin + startedAt,
    });
    const consumed = op === 'receive' ? this.instruments?.consumed : undefined;
    const handle = new OtelSpan(this.api, span, all, this.instruments?.operationDuration, consumed);
    if (startedAt !== undefined) handle.startedAt(startedAt);
    return handle;
  }

  private attributes(
    name: string,
    type: string,
    destination: string,
    attrs: Attrs,
  ): Api.Attributes {
    const all: Api.Attributes = {
      'messaging.system': 'nats',
      'messaging.operation.name': name,
      'messaging.operation.type': type,
    };
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) all[k] = v;
    if (all['messaging.destination.name'] === undefined && destination !== '(temporary)')
      all['messaging.destination.name'] = destination;
    return all;
  }
}

/** A span (or, with only metrics on, none) and the duration it records when it ends. */
export class OtelSpan {
  private start = performance.now();
  private ended = false;
  private failed = false;

  constructor(
    private readonly api: typeof Api,
    private readonly span: Api.Span | undefined,
    private readonly attrs: Api.Attributes,
    private readonly duration: Api.Histogram | undefined,
    /** For a `receive` span: counts its `messaging.batch.message_count` when it ends. */
    private readonly consumed?: Api.Counter,
  ) {}

  /** The operation began earlier than this object (a `performance.now()` time). */
  startedAt(start: number): void {
    this.start = start;
  }

  setAttributes(attrs: Attrs): void {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined) continue;
      this.attrs[k] = v;
      this.span?.setAttribute(k, v);
    }
  }

  fail(error: unknown): void {
    if (this.ended || this.failed) return;
    this.failed = true;
    const type = errorType(error);
    this.attrs['error.type'] = type;
    if (this.span === undefined) return;
    this.span.setAttribute('error.type', type);
    if (error instanceof Error) this.span.recordException(error);
    else this.span.recordException({ name: type, message: errorMessage(error) });
    this.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: errorMessage(error) });
  }

  end(error?: unknown): void {
    if (this.ended) return;
    if (error !== undefined) this.fail(error);
    this.ended = true;
    this.span?.end();
    const attrs = metricAttributes(this.attrs);
    this.duration?.record((performance.now() - this.start) / 1000, attrs);
    const count = this.attrs['messaging.batch.message_count'];
    if (this.consumed !== undefined && typeof count === 'number' && count > 0)
      this.consumed.add(count, attrs);
  }
}

/** `error.type`: the class of an Error, else the thrown value's `name` or its type. */
function errorType(error: unknown): string {
  if (error instanceof Error) return error.constructor.name;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : typeof error;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

function createInstruments(meter: Api.Meter): Instruments {
  const seconds = {
    unit: 's',
    advice: {
      explicitBucketBoundaries: [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
      ],
    },
  };
  return {
    operationDuration: meter.createHistogram('messaging.client.operation.duration', {
      ...seconds,
      description: 'Duration of a messaging operation initiated by a producer or consumer client.',
    }),
    processDuration: meter.createHistogram('messaging.process.duration', {
      ...seconds,
      description: 'Duration of processing operation.',
    }),
    sent: meter.createCounter('messaging.client.sent.messages', {
      unit: '{message}',
      description: 'Number of messages producer attempted to send to the broker.',
    }),
    consumed: meter.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Number of messages that were delivered to the application.',
    }),
  };
}

function metricAttributes(attrs: Api.Attributes): Api.Attributes {
  const out: Api.Attributes = {};
  for (const key of METRIC_KEYS) if (attrs[key] !== undefined) out[key] = attrs[key];
  return out;
}
