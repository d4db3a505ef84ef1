import {
  InvalidOptionError,
  NoRespondersError,
  type Msg,
  type NatsConnection,
} from '../core/internal.js';
import {
  DEFAULT_SERVICE_PREFIX,
  ServiceErrorCodeHeader,
  type ServiceInfo,
  type ServicePing,
  type ServiceStats,
  type ServiceVerb,
} from './types.js';
import { checkName } from './validate.js';
import { infoFromWire, pingFromWire, statsFromWire } from './wire.js';

/** Options of a `ServiceClient`. */
export interface ServiceClientOptions {
  /** The prefix of the monitoring subjects (for example across accounts). @default '$SRV' */
  prefix?: string;
  /** How long to wait for replies at most, in milliseconds. @default 2000 */
  timeout?: number;
  /** Stop collecting once no reply came for this long after the last one. @default 300 */
  stallTimeout?: number;
}

const ID = /^[^\s.*>]+$/;

function positive(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`service client ${what} must be a positive number of ms`);
  }
  return value;
}

/**
 * Discovers service instances: sends one PING, INFO or STATS request to every instance (all
 * services, one service by name, or one instance by name and id) and collects every reply
 * until the timeout, or until replies stop coming. `nc.services` is one with the defaults.
 */
export class ServiceClient {
  private readonly prefix: string;
  private readonly timeout: number;
  private readonly stallTimeout: number;

  /** Throws `InvalidOptionError` for a non-positive timeout or an empty prefix. */
  constructor(
    private readonly nc: NatsConnection,
    opts: ServiceClientOptions = {},
  ) {
    this.prefix = opts.prefix ?? DEFAULT_SERVICE_PREFIX;
    if (typeof this.prefix !== 'string' || this.prefix.length === 0) {
      throw new InvalidOptionError('service client prefix must be a non-empty subject');
    }
    this.timeout = positive('timeout', opts.timeout, 2000);
    this.stallTimeout = positive('stallTimeout', opts.stallTimeout, 300);
  }

  /** PING responses of the matching instances (empty when there are none). */
  ping(name?: string, id?: string): Promise<ServicePing[]> {
    return this.collect('PING', name, id, pingFromWire);
  }

  /** INFO responses of the matching instances: description and endpoints. */
  info(name?: string, id?: string): Promise<ServiceInfo[]> {
    return this.collect('INFO', name, id, infoFromWire);
  }

  /** STATS responses of the matching instances: per-endpoint counters and times. */
  stats(name?: string, id?: string): Promise<ServiceStats[]> {
    return this.collect('STATS', name, id, statsFromWire);
  }

  /** The monitoring subject for a verb. Throws `InvalidOptionError` for an id without a name. */
  subject(verb: ServiceVerb, name?: string, id?: string): string {
    let subject = `${this.prefix}.${verb}`;
    if (name !== undefined) subject += `.${checkName('service', name)}`;
    if (id !== undefined) {
      if (name === undefined) throw new InvalidOptionError('a service id needs a service name');
      if (typeof id !== 'string' || !ID.test(id)) {
        throw new InvalidOptionError(`invalid service id ${JSON.stringify(id)}`);
      }
      subject += `.${id}`;
    }
    return subject;
  }

  // Replies that are not JSON of the expected type, or that carry service error headers, are
  // skipped: one misbehaving instance must not hide the others.
  private async collect<T>(
    verb: ServiceVerb,
    name: string | undefined,
    id: string | undefined,
    parse: (json: unknown) => T | undefined,
  ): Promise<T[]> {
    const subject = this.subject(verb, name, id);
    const out: T[] = [];
    try {
      const replies = this.nc.requestMany(subject, undefined, {
        maxWait: this.timeout,
        stallTimeout: this.stallTimeout,
      });
      for await (const msg of replies) {
        const value = decode(msg, parse);
        if (value !== undefined) out.push(value);
      }
    } catch (err) {
      if (!(err instanceof NoRespondersError)) throw err;
    }
    return out;
  }
}

function decode<T>(msg: Msg, parse: (json: unknown) => T | undefined): T | undefined {
  if (msg.hasHeaders && msg.headers?.has(ServiceErrorCodeHeader)) return undefined;
  try {
    return parse(msg.json());
  } catch {
    return undefined;
  }
}
