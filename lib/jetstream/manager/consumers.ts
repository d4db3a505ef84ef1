import { isValidPublishSubject } from '../../core/index.js';
import { checkName, type JsApi } from '../api.js';
import { fromWire, toWire, type ConsumerConfig, type ConsumerInfo } from '../config.js';
import type { ConsumerListWire, ConsumerNamesWire, SuccessWire } from '../wire-types.js';

/** Consumer administration: `jsm.consumers`. */
export class ConsumersApi {
  constructor(private readonly api: JsApi) {}

  /**
   * Creates (or updates, when it exists) a consumer. `ackPolicy` defaults to 'explicit'; a
   * consumer without `name` or `durableName` is an ephemeral with a server-chosen name.
   */
  async add(stream: string, config: ConsumerConfig = {}): Promise<ConsumerInfo> {
    checkName('stream', stream);
    const cfg: ConsumerConfig = { ackPolicy: 'explicit', ...config };
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
    const body = { stream_name: stream, config: toWire(cfg) };
    return fromWire<ConsumerInfo>(await this.api.request(suffix, body));
  }

  /** Changes a consumer: `config` is merged over its current configuration. */
  async update(
    stream: string,
    name: string,
    config: Partial<ConsumerConfig>,
  ): Promise<ConsumerInfo> {
    const current = await this.info(stream, name);
    return this.add(stream, { ...current.config, ...config, name });
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
