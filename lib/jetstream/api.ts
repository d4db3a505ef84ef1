import {
  checkDelay,
  ConsumerNotFoundError,
  contextJetStream,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  NoRespondersError,
  StreamNotFoundError,
  type Msg,
  type NatsConnection,
} from '../core/internal.js';
import { MessageTtlDisabledError } from './ttl.js';
import type { ApiErrorWire, ApiPagedWire, ApiResponseWire } from './wire-types.js';

/** Options of `jetstream()` and `jetstreamManager()`. */
export interface JetStreamOptions {
  /**
   * API prefix, for JetStream imported from another account. When neither this nor `domain` is
   * given, those of the nats context the connection was made from apply. @default '$JS.API'
   */
  apiPrefix?: string;
  /** JetStream domain; makes the prefix `$JS.<domain>.API`. */
  domain?: string;
  /** Timeout of API calls and publish acks in milliseconds. @default 5000 */
  timeout?: number;
}

/** No JetStream answered on an API subject: it is not enabled for the account or unavailable. */
export class JetStreamNotAvailableError extends NoRespondersError {
  constructor(subject: string) {
    super(subject);
    this.message = `JetStream is not enabled or not available (no responders for ${subject})`;
  }
}

/** The typed error for an API `error` member: stream/consumer not found, or a JetStreamApiError. */
export function apiError(err: ApiErrorWire): JetStreamApiError {
  const apiCode = err.err_code ?? 0;
  const description = err.description ?? `JetStream API error ${err.code}`;
  if (apiCode === JsApiCode.STREAM_NOT_FOUND) return new StreamNotFoundError(description);
  if (apiCode === JsApiCode.CONSUMER_NOT_FOUND) return new ConsumerNotFoundError(description);
  if (apiCode === JsApiCode.MESSAGE_TTL_DISABLED) return new MessageTtlDisabledError(description);
  return new JetStreamApiError(description, apiCode, err.code);
}

/** Parses a JSON API reply and throws the mapped error when it carries one. */
export function decodeReply<T extends ApiResponseWire>(msg: Msg): T {
  const body = msg.json<T>();
  if (body.error) throw apiError(body.error);
  return body;
}

/** The JetStream API as seen from one connection: prefix, timeout, JSON requests, paging. */
export class JsApi {
  readonly prefix: string;
  readonly timeout: number;

  constructor(
    readonly nc: NatsConnection,
    opts: JetStreamOptions = {},
  ) {
    // Neither given: the JetStream settings of the nats context the connection was made from.
    const { apiPrefix, domain } =
      opts.apiPrefix === undefined && opts.domain === undefined
        ? (contextJetStream(nc) ?? opts)
        : opts;
    const prefix = apiPrefix ?? (domain ? `$JS.${domain}.API` : '$JS.API');
    this.prefix = prefix.endsWith('.') ? prefix.slice(0, -1) : prefix;
    this.timeout = opts.timeout ?? 5000;
    checkDelay(this.timeout, 'JetStream timeout', 1);
  }

  /** The full subject of an API call, e.g. `subject('STREAM.INFO.S')`. */
  subject(suffix: string): string {
    return `${this.prefix}.${suffix}`;
  }

  /** Sends a raw request to an API subject; maps "no responders" to JetStreamNotAvailableError. */
  async raw(suffix: string, body?: unknown, timeout = this.timeout): Promise<Msg> {
    const subject = this.subject(suffix);
    const data = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await this.nc.request(subject, data, { timeout });
    } catch (err) {
      if (err instanceof NoRespondersError) throw new JetStreamNotAvailableError(subject);
      throw err;
    }
  }

  /** Sends a JSON request and resolves the decoded JSON reply; rejects with the API's error. */
  async request<T extends ApiResponseWire>(
    suffix: string,
    body?: unknown,
    timeout?: number,
  ): Promise<T> {
    return decodeReply<T>(await this.raw(suffix, body, timeout));
  }

  /** Walks every page of a list/names call, yielding the items of `key`. */
  async *paged<T, R extends ApiPagedWire>(
    suffix: string,
    key: keyof R,
    extra: Record<string, unknown> = {},
  ): AsyncGenerator<T> {
    let offset = 0;
    for (;;) {
      const page = await this.request<R>(suffix, { ...extra, offset });
      const items = (page[key] as T[] | null) ?? [];
      for (const item of items) yield item;
      offset += items.length;
      if (items.length === 0 || offset >= page.total) return;
    }
  }
}

/** Rejects names the API cannot carry in a subject token. */
export function checkName(kind: string, name: string): void {
  if (!name || /[\s.*>/\\]/.test(name)) {
    throw new InvalidOptionError(`invalid ${kind} name ${JSON.stringify(name)}`);
  }
}
