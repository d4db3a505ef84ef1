import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../core/internal.js';
import type { ServiceMsg } from './service-msg.js';

/** The `type` strings of the three monitoring responses. */
export const ServiceResponseType = {
  /** The `type` of a PING response. */
  PING: 'io.nats.micro.v1.ping_response',
  /** The `type` of an INFO response. */
  INFO: 'io.nats.micro.v1.info_response',
  /** The `type` of a STATS response. */
  STATS: 'io.nats.micro.v1.stats_response',
} as const;
/** One of the `type` strings of the monitoring responses. */
export type ServiceResponseType = (typeof ServiceResponseType)[keyof typeof ServiceResponseType];

/** The monitoring verbs, as they appear in `$SRV.<verb>...` subjects. */
export type ServiceVerb = 'PING' | 'INFO' | 'STATS';

/** Header that carries the human-readable description of a service error. */
export const ServiceErrorHeader = SERVICE_ERROR_HEADER;
/** Header that carries the numeric code of a service error. */
export const ServiceErrorCodeHeader = SERVICE_ERROR_CODE_HEADER;

/** The default queue group of every endpoint. */
export const DEFAULT_SERVICE_QUEUE_GROUP = 'q';
/** The default prefix of the discovery and monitoring subjects. */
export const DEFAULT_SERVICE_PREFIX = '$SRV';

/**
 * A queue group name, or `false` to subscribe without one (every instance then receives every
 * request). Undefined inherits the setting of the enclosing group or service.
 */
export type QueueGroupSetting = string | false;

/** Handles one request; it answers with `req.respond()` or `req.respondError()`. */
export type ServiceHandler = (req: ServiceMsg) => unknown;

/** What `nc.addService()` takes. */
export interface ServiceConfig {
  /** The service kind, shared by every instance: `A-Z a-z 0-9 _ -` only. */
  name: string;
  /** A SemVer 2.0 version such as `1.0.0` or `1.2.3-rc.1+build.5`. */
  version: string;
  /** @default '' */
  description?: string;
  /** String key/value pairs, frozen at creation; keys starting with `_nats` are reserved. */
  metadata?: Record<string, string>;
  /** Default queue group of the endpoints; `false` disables queue groups. @default 'q' */
  queueGroup?: QueueGroupSetting;
  /** Produces the `data` field of each endpoint in STATS responses. */
  statsHandler?: (endpoint: EndpointInfo) => unknown;
}

/** Options of `addEndpoint()`. Without a handler the endpoint is read as an async iterable. */
export interface EndpointOptions {
  /** The subject below the group prefix; may use `*`, and `>` last. @default the name */
  subject?: string;
  /** Handles each request; without it, iterate the endpoint to read them. */
  handler?: ServiceHandler;
  /** String key/value pairs, frozen at creation. */
  metadata?: Record<string, string>;
  /** Overrides the group's and service's queue group; `false` disables it. */
  queueGroup?: QueueGroupSetting;
}

/** Options of `addGroup()`. */
export interface GroupOptions {
  /** Default queue group of the group's endpoints and nested groups; `false` disables it. */
  queueGroup?: QueueGroupSetting;
}

/** Something endpoints and nested groups can be added to: a service or one of its groups. */
export interface ServiceGroupApi {
  /** Adds an endpoint and subscribes it at once. Throws `InvalidOptionError` on bad options. */
  addEndpoint(name: string, opts?: EndpointOptions | ServiceHandler): ServiceEndpointApi;
  /** A nested group whose prefix is this one's prefix followed by `prefix`. */
  addGroup(prefix: string, opts?: GroupOptions | QueueGroupSetting): ServiceGroupApi;
}

/** An endpoint as returned by `addEndpoint()`; iterable when it has no handler. */
export interface ServiceEndpointApi extends AsyncIterable<ServiceMsg> {
  /** The endpoint's name. */
  readonly name: string;
  /** The full subject, group prefixes included. */
  readonly subject: string;
  /** The queue group in use, or undefined when disabled. */
  readonly queueGroup: string | undefined;
  /** The endpoint's metadata, frozen, or undefined when it has none. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

/** The fields every monitoring response starts with. */
export interface ServiceIdentity {
  /** Which response this is. */
  type: ServiceResponseType;
  /** The service's name. */
  name: string;
  /** The instance id (a NUID). */
  id: string;
  /** The service's version. */
  version: string;
  /** The service's metadata (`{}` when it has none). */
  metadata: Record<string, string>;
}

/** A PING response. */
export interface ServicePing extends ServiceIdentity {
  /** Always `io.nats.micro.v1.ping_response`. */
  type: typeof ServiceResponseType.PING;
}

/** An endpoint as described in INFO responses. */
export interface EndpointInfo {
  /** The endpoint's name. */
  name: string;
  /** The subject it listens on, group prefixes included. */
  subject: string;
  /** Undefined when the endpoint has no queue group. */
  queueGroup?: string;
  /** The endpoint's metadata, if it has any. */
  metadata?: Record<string, string>;
}

/** An INFO response. */
export interface ServiceInfo extends ServiceIdentity {
  /** Always `io.nats.micro.v1.info_response`. */
  type: typeof ServiceResponseType.INFO;
  /** The service's description ('' when it has none). */
  description: string;
  /** Every endpoint of the instance. */
  endpoints: EndpointInfo[];
}

/** The counters of one endpoint in STATS responses. Times are milliseconds (fractional). */
export interface EndpointStats extends EndpointInfo {
  /** Requests the endpoint handled. */
  numRequests: number;
  /** Requests answered with an error (`respondError()`, or a handler that threw). */
  numErrors: number;
  /** The last error (`code:description`), or '' when there was none. */
  lastError: string;
  /** Total time spent handling requests, until each was answered. */
  processingTime: number;
  /** `processingTime` divided by the number of handled requests (0 when none). */
  averageProcessingTime: number;
  /** What the service's `statsHandler` returned for this endpoint, if it has one. */
  data?: unknown;
}

/** A STATS response. */
export interface ServiceStats extends ServiceIdentity {
  /** Always `io.nats.micro.v1.stats_response`. */
  type: typeof ServiceResponseType.STATS;
  /** When the service started, or was last `reset()`. */
  started: Date;
  /** The counters of every endpoint of the instance. */
  endpoints: EndpointStats[];
}
