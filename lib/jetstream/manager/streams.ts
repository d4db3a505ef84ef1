import { StreamNotFoundError } from '../../core/internal.js';
import { askAgainIfSlow } from '../ask-again-if-slow.js';
import { checkName, type JsApi } from '../api.js';
import type { StreamConfig, StreamInfo } from '../stream-config.js';
import { fromWire, toWire } from '../wire-convert.js';
import type {
  MsgGetWire,
  PurgeResponseWire,
  StreamListWire,
  StreamNamesWire,
  SuccessWire,
} from '../wire-types.js';
import { fromDirectGet, fromMsgGet, type StoredMsg } from './stored-msg.js';
import { checkStreamFields } from '../wire-fields.js';
import { getBatch, getLast, type BatchGetOptions, type LastGetOptions } from './direct-batch.js';

/** Options of `streams.purge()`: `seq` and `keep` are exclusive. */
export interface PurgeOptions {
  /** Only messages on this subject (wildcards allowed). */
  filter?: string;
  /** Purge messages below this sequence. */
  seq?: number;
  /** Keep the newest N messages (per filter). */
  keep?: number;
}

/** Which message `streams.getMessage()` reads. */
export type MsgRequest =
  | {
      /** The stream sequence of the message. */
      seq: number;
    }
  | {
      /** A subject: the last message stored on it. */
      lastBySubject: string;
    };

/** Stream administration: `jsm.streams`. */
export class StreamsApi {
  // Whether each stream allows direct get, learnt on the first getMessage().
  private readonly direct = new Map<string, boolean>();

  /** @internal */
  constructor(private readonly api: JsApi) {}

  /** Creates a stream (idempotent for an identical config). Rejects with JetStreamApiError. */
  async add(
    nameOrConfig: string | StreamConfig,
    config?: Partial<StreamConfig>,
  ): Promise<StreamInfo> {
    const cfg: StreamConfig =
      typeof nameOrConfig === 'string' ? { ...config, name: nameOrConfig } : nameOrConfig;
    checkName('stream', cfg.name);
    const body = toWire(cfg);
    checkStreamFields(this.api.nc, body);
    const wire = await this.api.request(`STREAM.CREATE.${cfg.name}`, body);
    this.direct.delete(cfg.name);
    return fromWire<StreamInfo>(wire);
  }

  /** Changes a stream: `config` is merged over the current configuration. */
  async update(name: string, config: Partial<StreamConfig>): Promise<StreamInfo> {
    checkName('stream', name);
    // Only the caller's members are checked: the rest came from this server.
    checkStreamFields(this.api.nc, toWire(config));
    const current = await this.info(name);
    const merged: StreamConfig = { ...current.config, ...config, name };
    const wire = await this.api.request(`STREAM.UPDATE.${name}`, toWire(merged));
    this.direct.delete(name);
    return fromWire<StreamInfo>(wire);
  }

  /** The stream's config and state. Rejects with StreamNotFoundError. */
  async info(name: string, opts?: { subjectsFilter?: string }): Promise<StreamInfo> {
    checkName('stream', name);
    const body = opts?.subjectsFilter ? { subjects_filter: opts.subjectsFilter } : undefined;
    return fromWire<StreamInfo>(await this.api.request(`STREAM.INFO.${name}`, body));
  }

  /** Deletes the stream and its messages; resolves true. */
  async delete(name: string): Promise<boolean> {
    checkName('stream', name);
    const r = await this.api.request<SuccessWire>(`STREAM.DELETE.${name}`);
    this.direct.delete(name);
    return r.success;
  }

  /** Removes messages; resolves how many were purged. */
  async purge(
    name: string,
    opts: PurgeOptions = {},
  ): Promise<{
    /** How many messages were removed. */
    purged: number;
  }> {
    checkName('stream', name);
    const r = await this.api.request<PurgeResponseWire>(`STREAM.PURGE.${name}`, toWire(opts));
    return { purged: r.purged };
  }

  /** Every stream's info, walking all pages. */
  list(subject?: string): AsyncIterable<StreamInfo> {
    const api = this.api;
    const extra = subject ? { subject } : {};
    return {
      async *[Symbol.asyncIterator]() {
        const pages = api.paged<Record<string, unknown>, StreamListWire>(
          'STREAM.LIST',
          'streams',
          extra,
        );
        for await (const s of pages) yield fromWire<StreamInfo>(s);
      },
    };
  }

  /** Every stream name (optionally only those capturing `subject`), walking all pages. */
  names(subject?: string): AsyncIterable<string> {
    const api = this.api;
    const extra = subject ? { subject } : {};
    return {
      [Symbol.asyncIterator]: () =>
        api.paged<string, StreamNamesWire>('STREAM.NAMES', 'streams', extra),
    };
  }

  /** The name of the stream that captures `subject`. Rejects with StreamNotFoundError. */
  async find(subject: string): Promise<string> {
    const r = await this.api.request<StreamNamesWire>('STREAM.NAMES', { subject });
    const name = r.streams?.[0];
    if (!name) throw new StreamNotFoundError(`no stream matches subject ${subject}`);
    return name;
  }

  /**
   * Reads one message by sequence or as the last on a subject: through direct get when the
   * stream allows it, else through the leader. Rejects with JetStreamApiError (10037) when absent.
   */
  async getMessage(name: string, query: MsgRequest): Promise<StoredMsg> {
    checkName('stream', name);
    const body = 'seq' in query ? { seq: query.seq } : { last_by_subj: query.lastBySubject };
    let direct = this.direct.get(name);
    if (direct === undefined) {
      direct = (await this.info(name)).config.allowDirect === true;
      this.direct.set(name, direct);
    }
    const viaLeader = async () =>
      fromMsgGet(await this.api.request<MsgGetWire>(`STREAM.MSG.GET.${name}`, body));
    if (!direct) return viaLeader();
    const send = async (timeout: number) =>
      fromDirectGet(await this.api.raw(`DIRECT.GET.${name}`, body, timeout));
    // The stream may have been re-created without direct get (by anyone): its direct-get
    // subject is then never answered, so a slow read checks the stream's config once.
    return askAgainIfSlow(send, this.api.timeout, async () => {
      const stillDirect = (await this.info(name)).config.allowDirect === true;
      this.direct.set(name, stillDirect);
      return stillDirect ? undefined : { value: await viaLeader() };
    });
  }

  /**
   * Reads messages from `seq` or `startTime` (on `subject`), `batch` per request, until nothing
   * is pending: batched direct get on nats-server 2.11+, else one get per message (also for a
   * stream without direct get). `startTime` needs 2.11 (`FeatureNotSupportedError`).
   */
  getBatch(name: string, opts?: BatchGetOptions): AsyncIterable<StoredMsg> {
    return { [Symbol.asyncIterator]: () => getBatch(this.api, this, name, opts) };
  }

  /**
   * The last message of each subject matching `subjects` (wildcards allowed), in stream order:
   * multi-last direct get on nats-server 2.11+ (at most 1,024 subjects, else `JetStreamApiError`
   * with status 413), else one get per subject. Needs direct get on 2.11+.
   */
  getLast(name: string, subjects: string[], opts?: LastGetOptions): AsyncIterable<StoredMsg> {
    return { [Symbol.asyncIterator]: () => getLast(this.api, this, name, subjects, opts) };
  }

  /** Deletes one message (overwriting its data unless `erase` is false); resolves true. */
  async deleteMessage(name: string, seq: number, erase = true): Promise<boolean> {
    checkName('stream', name);
    const body = erase ? { seq } : { seq, no_erase: true };
    return (await this.api.request<SuccessWire>(`STREAM.MSG.DELETE.${name}`, body)).success;
  }
}
