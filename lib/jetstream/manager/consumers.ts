import {
  ConsumerNotFoundError,
  JetStreamApiError,
  JsApiCode,
  isValidPublishSubject,
  serverAtLeast,
} from '../../core/internal.js';
import { checkName, type JsApi } from '../api.js';
import type { ConsumerConfig, ConsumerInfo } from '../consumer-config.js';
import { fromWire, toWire } from '../wire-convert.js';
import { ConsumerConfigConflictError, configConflicts } from '../consumer-binding.js';
import type { ConsumerListWire, ConsumerNamesWire, SuccessWire } from '../wire-types.js';
import { checkConsumerFields } from '../wire-fields.js';

/** The first nats-server release whose consumer create takes an `action`. */
const CONSUMER_ACTIONS_SINCE = '2.10.0';

/** Consumer administration: `jsm.consumers`. */
export class ConsumersApi {
  /** @internal */
  constructor(private readonly api: JsApi) {}

  /**
   * Creates a consumer. `ackPolicy` defaults to 'explicit'; a consumer without `name` or
   * `durableName` is an ephemeral with a server-chosen name. When one of that name exists with
   * the same config it resolves its info; with another config nats-server 2.10+ leaves it as it
   * is and this rejects with `ConsumerConfigConflictError` naming the fields (2.9 has no create
   * action: there the existing consumer is updated, as `update()` would).
   */
  async add(stream: string, config: ConsumerConfig = {}): Promise<ConsumerInfo> {
    const cfg: ConsumerConfig = { ackPolicy: 'explicit', ...config };
    checkConsumerFields(this.api.nc, toWire(cfg));
    try {
      return await this.send(stream, cfg, 'create');
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.apiCode !== JsApiCode.CONSUMER_ALREADY_EXISTS)
        throw err;
      const name = (cfg.name ?? cfg.durableName) as string;
      const current = await this.info(stream, name);
      throw new ConsumerConfigConflictError(
        stream,
        name,
        configConflicts(cfg, current.config, { defaults: true }),
      );
    }
  }

  /**
   * Changes an existing consumer: `config` is merged over its current configuration, and its
   * state (delivered and acked sequences, pending acks) is kept. Rejects with
   * ConsumerNotFoundError when it does not exist (never creates one), and with the server's
   * `JetStreamApiError` for a change it refuses (such as `deliverPolicy`).
   */
  async update(
    stream: string,
    name: string,
    config: Partial<ConsumerConfig>,
  ): Promise<ConsumerInfo> {
    // Only the caller's members are checked: the rest came from this server.
    checkConsumerFields(this.api.nc, toWire(config));
    const current = await this.info(stream, name);
    const cfg: ConsumerConfig = { ...current.config, ...config, name };
    try {
      return await this.send(stream, cfg, 'update');
    } catch (err) {
      // Deleted between the info and the update (10149 is 2.10+'s answer to that).
      if (err instanceof JetStreamApiError && err.apiCode === JsApiCode.CONSUMER_DOES_NOT_EXIST)
        throw new ConsumerNotFoundError(err.message, err.apiCode, err.status);
      throw err;
    }
  }

  /**
   * Sends `CONSUMER.CREATE`. nats-server 2.10+ takes an `action` that makes a create never
   * overwrite a different consumer and an update never create one; 2.9 knows no such field
   * (and 2.12+ refuses unknown fields), so it is sent only to servers that have it.
   */
  private async send(
    stream: string,
    cfg: ConsumerConfig,
    action: 'create' | 'update',
  ): Promise<ConsumerInfo> {
    checkName('stream', stream);
    if (cfg.durableName !== undefined) checkName('consumer', cfg.durableName);
    const name = cfg.name ?? cfg.durableName;
    let suffix = `CONSUMER.CREATE.${stream}`;
    if (name !== undefined) {
      checkName('consumer', name);
      cfg.name = name;
      suffix += `.${name}`;
      // The filter in the subject lets ACLs match it; wildcards cannot travel in a PUB subject.
      if (cfg.filterSubject && isValidPublishSubject(cfg.filterSubject))
        suffix += `.${cfg.filterSubject}`;
    }
    const body: Record<string, unknown> = { stream_name: stream, config: toWire(cfg) };
    if (serverAtLeast(this.api.nc, CONSUMER_ACTIONS_SINCE)) body.action = action;
    return fromWire<ConsumerInfo>(await this.api.request(suffix, body));
  }

  /** The consumer's config and state. Rejects with ConsumerNotFoundError or StreamNotFoundError. */
  async info(stream: string, name: string): Promise<ConsumerInfo> {
    checkName('stream', stream);
    checkName('consumer', name);
    return fromWire<ConsumerInfo>(await this.api.request(`CONSUMER.INFO.${stream}.${name}`));
  }

  /** Deletes the consumer; resolves true. */
  async delete(stream: string, name: string): Promise<boolean> {
    checkName('stream', stream);
    checkName('consumer', name);
    return (await this.api.request<SuccessWire>(`CONSUMER.DELETE.${stream}.${name}`)).success;
  }

  /** Every consumer's info on the stream, walking all pages. */
  list(stream: string): AsyncIterable<ConsumerInfo> {
    checkName('stream', stream);
    const api = this.api;
    return {
      async *[Symbol.asyncIterator]() {
        const pages = api.paged<Record<string, unknown>, ConsumerListWire>(
          `CONSUMER.LIST.${stream}`,
          'consumers',
        );
        for await (const c of pages) yield fromWire<ConsumerInfo>(c);
      },
    };
  }

  /** Every consumer name on the stream, walking all pages. */
  names(stream: string): AsyncIterable<string> {
    checkName('stream', stream);
    const api = this.api;
    return {
      [Symbol.asyncIterator]: () =>
        api.paged<string, ConsumerNamesWire>(`CONSUMER.NAMES.${stream}`, 'consumers'),
    };
  }
}
