import {
  ConsumerNotFoundError,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  isValidPublishSubject,
  requireServer,
  serverAtLeast,
  TimeoutError,
} from '../../core/internal.js';
import { checkName, JetStreamNotAvailableError, type JsApi } from '../api.js';
import type { ConsumerConfig, ConsumerInfo } from '../consumer-config.js';
import { checkPriorityOptions } from '../priority.js';
import { fromWire, toWire } from '../wire-convert.js';
import { ConsumerConfigConflictError, configConflicts } from '../consumer-binding.js';
import type {
  ApiResponseWire,
  ConsumerListWire,
  ConsumerNamesWire,
  ConsumerPauseWire,
  ConsumerResetWire,
  SuccessWire,
} from '../wire-types.js';
import { checkConsumerFields } from '../wire-fields.js';

/** The first nats-server release whose consumer create takes an `action`. */
const CONSUMER_ACTIONS_SINCE = '2.10.0';

/** What `consumers.pause()` and `resume()` resolve. */
export interface ConsumerPauseState {
  /** True while the consumer is paused. */
  paused: boolean;
  /** Until when (RFC 3339); the zero time after a resume. */
  pauseUntil: string;
  /** Milliseconds left of the pause, when paused. */
  pauseRemaining?: number;
}

/** What `consumers.reset()` resolves: the consumer's info after the reset, and its sequence. */
export interface ConsumerResetInfo extends ConsumerInfo {
  /** The stream sequence the consumer delivers from next. */
  resetSeq: number;
}

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

  /**
   * Pauses the consumer until `until` (a Date or RFC 3339 text): it delivers nothing, and its
   * info says `paused`, until then or a `resume()`. Needs nats-server 2.11+
   * (`FeatureNotSupportedError` before sending); rejects with ConsumerNotFoundError.
   */
  async pause(stream: string, name: string, until: Date | string): Promise<ConsumerPauseState> {
    requireServer(this.api.nc, '2.11.0', 'consumers.pause()');
    const at = until instanceof Date ? until.getTime() : Date.parse(until);
    if (Number.isNaN(at)) throw new InvalidOptionError('pause until must be a valid time');
    return this.sendPause(stream, name, { pause_until: new Date(at).toISOString() });
  }

  /** Ends a pause at once. Needs nats-server 2.11+; rejects with ConsumerNotFoundError. */
  async resume(stream: string, name: string): Promise<ConsumerPauseState> {
    requireServer(this.api.nc, '2.11.0', 'consumers.resume()');
    return this.sendPause(stream, name, undefined);
  }

  private async sendPause(
    stream: string,
    name: string,
    body: { pause_until: string } | undefined,
  ): Promise<ConsumerPauseState> {
    checkName('stream', stream);
    checkName('consumer', name);
    const reply = await this.api.request<ConsumerPauseWire>(
      `CONSUMER.PAUSE.${stream}.${name}`,
      body,
    );
    const { type: _type, ...state } = reply;
    return fromWire<ConsumerPauseState>(state);
  }

  /**
   * Moves the consumer back (or forward) so it delivers from stream sequence `seq` next, or from
   * its ack floor without `seq`; what was pending is forgotten and delivered again. Needs
   * nats-server 2.14+ (`FeatureNotSupportedError` before sending); rejects with
   * ConsumerNotFoundError, or the server's JetStreamApiError for a sequence it refuses.
   */
  async reset(stream: string, name: string, seq?: number): Promise<ConsumerResetInfo> {
    requireServer(this.api.nc, '2.14.0', 'consumers.reset()');
    checkName('stream', stream);
    checkName('consumer', name);
    if (seq !== undefined && (!Number.isSafeInteger(seq) || seq < 1))
      throw new InvalidOptionError('reset seq must be a positive integer');
    // The consumer's leader answers resets itself, not the API: for a missing consumer the
    // request would only time out, so its existence is asked first (and again on a failure).
    await this.info(stream, name);
    const body = seq === undefined ? undefined : { seq };
    try {
      const suffix = `CONSUMER.RESET.${stream}.${name}`;
      return fromWire<ConsumerResetInfo>(await this.api.request<ConsumerResetWire>(suffix, body));
    } catch (err) {
      if (err instanceof JetStreamNotAvailableError || err instanceof TimeoutError)
        await this.info(stream, name);
      throw err;
    }
  }

  /**
   * Unpins the client a `pinned_client` consumer's `group` is pinned to: the server pins another
   * waiting pull (ADR-42). Resolves true. Needs nats-server 2.11+; rejects with
   * ConsumerNotFoundError, or a JetStreamApiError for a group the consumer lacks.
   */
  async unpin(stream: string, name: string, group: string): Promise<boolean> {
    requireServer(this.api.nc, '2.11.0', 'consumers.unpin()');
    checkName('stream', stream);
    checkName('consumer', name);
    checkPriorityOptions(this.api.nc, { group });
    await this.api.request<ApiResponseWire>(`CONSUMER.UNPIN.${stream}.${name}`, { group });
    return true;
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
