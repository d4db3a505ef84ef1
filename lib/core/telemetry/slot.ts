import { InvalidOptionError } from '../errors.js';
import { MsgHeaders, copyHeaders, type HeadersInit } from '../messages/headers.js';
import type { Msg } from '../messages/msg.js';
import type { TelemetryOptions } from '../options.js';
import {
  loadTelemetry,
  type HeaderCarrier,
  type SendOperation,
  type TelemetryAttributes,
  type TelemetryHooks,
  type TelemetrySpan,
} from './hooks.js';

/** How often every live connection re-checks whether an SDK is registered (or went away). */
export const TELEMETRY_RECHECK_MS = 1000;

// Headers of sends that already have their span (made by JetStream or ClientNats): the core
// publish or request under them makes none.
const spanned = new WeakSet<MsgHeaders>();

const live = new Set<ConnectionTelemetry>();
let recheck: NodeJS.Timeout | undefined;
// Live connections that trace settles: while none does, an ack looks nothing up.
let settling = 0;

/** The server a connection is on, for `server.address` / `server.port`. */
export type ServerOf = () => { hostname: string; port: number } | undefined;

/** A send with its span and the headers that carry its context. */
export interface SpannedSend {
  span: TelemetrySpan;
  /** The headers to send: a copy of the caller's with the trace context added. */
  headers: MsgHeaders | undefined;
}

/**
 * A connection's telemetry. `hooks` is the one field the hot paths read: null while telemetry is
 * off (turned off, `@opentelemetry/api` missing, or no SDK registered), so that off costs one
 * field check per publish, request and delivered message. Whether an SDK is registered is checked
 * at connect and then every `TELEMETRY_RECHECK_MS` by one timer shared by all connections.
 */
export class ConnectionTelemetry {
  hooks: TelemetryHooks | null = null;
  /**
   * The process span of the subscription callback running now, set only during the callback's
   * synchronous part (the Nest dispatcher marks it failed when a handler fails).
   */
  current: TelemetrySpan = NO_SPAN;
  /** JetStream acks get `settle` spans (`telemetry: { settle: true }`). */
  readonly settle: boolean;
  private readonly enabled: boolean;
  private loaded: TelemetryHooks | null = null;
  private readonly inbox: string;

  constructor(
    option: boolean | TelemetryOptions,
    inboxPrefix: string,
    private readonly server: ServerOf,
  ) {
    const opts = parseOption(option);
    this.enabled = opts.enabled;
    this.settle = opts.settle;
    this.inbox = `${inboxPrefix}.`;
  }

  /** Loads the hooks (once per process) unless turned off, and starts watching for an SDK. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    this.loaded = await loadTelemetry();
    if (this.loaded === null) return;
    this.refresh();
    live.add(this);
    if (this.settle) settling++;
    recheck ??= setInterval(() => {
      for (const t of live) t.refresh();
    }, TELEMETRY_RECHECK_MS).unref();
  }

  /** The connection closed: no more spans, no more checks. */
  stop(): void {
    this.hooks = null;
    if (live.delete(this) && this.settle) settling--;
    if (live.size === 0 && recheck !== undefined) {
      clearInterval(recheck);
      recheck = undefined;
    }
  }

  private refresh(): void {
    const hooks = this.loaded;
    this.hooks = hooks !== null && hooks.active() ? hooks : null;
  }

  /**
   * Whether a subscription on `pattern` gets process spans: not the connection's inboxes (request
   * replies, JetStream deliveries, which their own layers trace) nor system API subjects.
   */
  traces(pattern: string): boolean {
    return !this.isInbox(pattern) && !isSystemSubject(pattern);
  }

  /** A span's destination: the subject, or `(temporary)` for an inbox. */
  destination(subject: string): string {
    return this.isInbox(subject) ? '(temporary)' : subject;
  }

  /** Attributes every span of this connection carries: destination and server. */
  attributes(subject: string, bodySize: number): TelemetryAttributes {
    const server = this.server();
    const temporary = this.isInbox(subject);
    return {
      'messaging.destination.name': temporary ? undefined : subject,
      'messaging.destination.temporary': temporary || undefined,
      'messaging.message.body.size': bodySize,
      'server.address': server?.hostname,
      'server.port': server?.port,
    };
  }

  /**
   * Starts the span of a send (`publish` PRODUCER or `send` CLIENT) and returns the headers to
   * send with its context; marked so the core publish or request under it makes no second span.
   * Returns null while telemetry is off.
   */
  begin(
    op: SendOperation,
    subject: string,
    data: Uint8Array | string | null | undefined,
    init: HeadersInit | undefined,
    extra?: TelemetryAttributes,
  ): SpannedSend | null {
    const hooks = this.hooks;
    if (hooks === null) return null;
    const headers = copyHeaders(init);
    const attrs = { ...this.attributes(subject, bodySize(data)), ...extra };
    const span = hooks.send(op, this.destination(subject), carrierOf(headers), attrs);
    const out = headers.size > 0 ? headers : undefined;
    if (out !== undefined) spanned.add(out);
    return { span, headers: out };
  }

  /** A core publish while telemetry is on: a PRODUCER span around it. */
  publish(
    send: (headers: HeadersInit | undefined) => Promise<void> | undefined,
    subject: string,
    data: Uint8Array | string | null | undefined,
    init: HeadersInit | undefined,
  ): Promise<void> | undefined {
    if (isSpanned(init) || isSystemSubject(subject)) return send(init);
    const started = this.begin('publish', subject, data, init);
    if (started === null) return send(init);
    try {
      const pressure = send(started.headers ?? init);
      started.span.end();
      return pressure;
    } catch (err) {
      started.span.end(err);
      throw err;
    }
  }

  /** A core request while telemetry is on: a CLIENT `send` span until the reply (or failure). */
  request<T>(
    send: (headers: HeadersInit | undefined) => Promise<T>,
    subject: string,
    data: Uint8Array | string | null | undefined,
    init: HeadersInit | undefined,
  ): Promise<T> {
    if (isSpanned(init) || isSystemSubject(subject)) return send(init);
    const started = this.begin('send', subject, data, init);
    if (started === null) return send(init);
    const reply = send(started.headers ?? init);
    reply.then(
      () => started.span.end(),
      (err: unknown) => started.span.end(err),
    );
    return reply;
  }

  /** Runs a subscription callback in a CONSUMER `process {pattern}` span. */
  deliver<T>(
    pattern: string,
    queue: string | undefined,
    msg: Msg,
    run: (span: TelemetrySpan) => T,
  ): T {
    const hooks = this.hooks;
    if (hooks === null) return run(NO_SPAN);
    const attrs = this.attributes(msg.subject, msg.data.length);
    if (queue !== undefined) attrs['messaging.consumer.group.name'] = queue;
    if (pattern !== msg.subject) attrs['messaging.destination.template'] = pattern;
    return hooks.process(pattern, incomingCarrier(msg), 'child', attrs, (span) => {
      this.current = span;
      try {
        return run(span);
      } finally {
        this.current = NO_SPAN;
      }
    });
  }

  private isInbox(subject: string): boolean {
    return subject.startsWith(this.inbox) || subject.startsWith('_INBOX.');
  }
}

/** A span that records nothing, for code that runs with or without one. */
export const NO_SPAN: TelemetrySpan = {
  setAttributes: () => undefined,
  fail: () => undefined,
  end: () => undefined,
};

/** `telemetry: boolean | { enabled, settle }`, checked. */
function parseOption(option: boolean | TelemetryOptions): Required<TelemetryOptions> {
  if (typeof option === 'boolean') return { enabled: option, settle: false };
  const bad = (): InvalidOptionError =>
    new InvalidOptionError('option telemetry must be a boolean or { enabled?, settle? }');
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw bad();
  for (const key of Object.keys(option)) if (key !== 'enabled' && key !== 'settle') throw bad();
  const { enabled = true, settle = false } = option;
  if (typeof enabled !== 'boolean' || typeof settle !== 'boolean') throw bad();
  return { enabled, settle };
}

/** API and system subjects: requests to them are not messaging and get no spans. */
function isSystemSubject(subject: string): boolean {
  return (
    subject.startsWith('$JS.') ||
    subject.startsWith('$JSC.') ||
    subject.startsWith('$SYS.') ||
    subject.startsWith('$SRV.')
  );
}

/** True for headers whose send already has its span (the core makes none under it). */
export function isSpanned(init: HeadersInit | undefined): boolean {
  return init instanceof MsgHeaders && spanned.has(init);
}

/**
 * Marks headers whose send has its span in the layer above (one span for a whole atomic batch):
 * the core publish or request under them makes none.
 */
export function markSpanned(headers: MsgHeaders): MsgHeaders {
  spanned.add(headers);
  return headers;
}

function bodySize(data: Uint8Array | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

/** Writes a header only when the caller did not set it. */
export function carrierOf(headers: MsgHeaders): HeaderCarrier {
  return {
    get: (name) => headers.get(name),
    set: (name, value) => {
      if (!headers.has(name)) headers.set(name, value);
    },
    keys: () => headers.keys(),
  };
}

/** The headers of a received message, or undefined when it has none (nothing decoded). */
export function incomingCarrier(msg: Msg): HeaderCarrier | undefined {
  const headers = msg.hasHeaders ? msg.headers : undefined;
  return headers === undefined ? undefined : carrierOf(headers);
}

const registry = new WeakMap<object, ConnectionTelemetry>();

/** Called once by each connection. */
export function registerTelemetry(nc: object, telemetry: ConnectionTelemetry): void {
  registry.set(nc, telemetry);
}

/** The telemetry of a connection, for the upper layers; undefined for anything else. */
export function telemetryOf(nc: object): ConnectionTelemetry | undefined {
  return registry.get(nc);
}

/**
 * The hooks of a connection that traces JetStream settles while an SDK is on, else null. Costs
 * nothing (no lookup) while no live connection asked for settle spans.
 */
export function settleHooks(nc: object): TelemetryHooks | null {
  if (settling === 0) return null;
  const tel = registry.get(nc);
  return tel !== undefined && tel.settle ? tel.hooks : null;
}
