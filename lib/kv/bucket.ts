import {
  Watcher,
  bucketNotFound,
  explainUnanswered,
  initialValuesOf,
  unlessBucketGone,
} from '../buckets/internal.js';
import {
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  type HeadersInit,
} from '../core/internal.js';
import {
  StreamsApi,
  type JetStreamClient,
  type PubAck,
  type PublishExpectations,
  type StreamInfo,
} from '../jetstream/internal.js';
import { kvStatus, kvStreams } from './config.js';
import {
  Entry,
  entryFromDirect,
  entryFromMsgGet,
  entryFromJsMsg,
  type StoredMsgWire,
} from './entry.js';
import { KeyExistsError, WrongLastRevisionError, isWrongLastSequence } from './errors.js';
import type {
  KvCreateOptions,
  KvEntry,
  KvPurgeDeletesOptions,
  KvPurgeOptions,
  KvTtl,
  KvStatus,
  KvWatchEntry,
  KvWatchOptions,
} from './types.js';
import { validateFilter, validateKey } from './validate.js';

/** A running `kv.watch()`: iterate it for entries; `initialized` marks the end of the initial values. */
export type KvWatcher = Watcher<KvWatchEntry>;

const DEL: HeadersInit = { 'KV-Operation': 'DEL' };
const PURGE: HeadersInit = { 'KV-Operation': 'PURGE', 'Nats-Rollup': 'sub' };
const THIRTY_MINUTES = 30 * 60 * 1000;

const livePut = (e: Entry | null): Entry | null => (e !== null && e.operation === 'PUT' ? e : null);
const seqOf = (ack: PubAck): number => ack.seq;
const readBody = (subject: string, revision: number | undefined) =>
  revision === undefined ? { last_by_subj: subject } : { seq: revision };

/** A Key-Value bucket (ADR-8) on a JetStream stream `KV_<bucket>`. Made by `js.keyValue()`. */
export class KvBucket {
  /** The backing stream's name. */
  readonly streamName: string;
  // Keys live on `$KV.<bucket>.<key>`; writes may need an API prefix in front (ADR-19).
  private readonly keyPrefix: string;
  private readonly writePrefix: string;
  private readonly directGet: string;
  private readonly direct: boolean;
  private readonly streams: StreamsApi;

  constructor(
    /** The JetStream client the bucket talks through. */
    readonly js: JetStreamClient,
    /** The bucket's name. */
    readonly bucket: string,
    info: StreamInfo,
  ) {
    this.streamName = kvStreams.nameOf(bucket);
    this.keyPrefix = `$KV.${bucket}.`;
    const prefix = js.api.prefix;
    this.writePrefix = prefix === '$JS.API' ? this.keyPrefix : `${prefix}.${this.keyPrefix}`;
    this.directGet = `${prefix}.DIRECT.GET.${this.streamName}`;
    this.direct = info.config.allowDirect === true;
    this.streams = new StreamsApi(js.api);
  }

  /**
   * The latest entry of `key`, or the given revision; null when the key (or revision) does not
   * exist, or when it is deleted or purged. Throws `InvalidKeyError`.
   */
  get(key: string, opts: { revision?: number } = {}): Promise<KvEntry | null> {
    // get() and put() are promise chains, not async functions: an async frame per call was a
    // large part of what they allocate.
    try {
      validateKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.read(key, opts.revision).then(livePut);
  }

  /**
   * Stores a value and resolves its revision. Throws `InvalidKeyError`; rejects with
   * `BucketNotFoundError` when the bucket was deleted.
   */
  put(key: string, value: Uint8Array | string): Promise<number> {
    try {
      validateKey(key, true);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.publish(key, value, undefined, undefined).then(seqOf);
  }

  /**
   * Stores a value only when the key has none (or is deleted/purged) and resolves its revision.
   * With `ttl` the key expires on its own (ADR-48; nats-server 2.11+, and a bucket with
   * `limitMarkerTtl`, else `MessageTtlDisabledError`). Rejects with `KeyExistsError` when the key
   * holds a value.
   */
  async create(
    key: string,
    value: Uint8Array | string,
    opts: KvCreateOptions = {},
  ): Promise<number> {
    validateKey(key, true);
    const ttl = opts.ttl;
    try {
      return (await this.publish(key, value, undefined, { lastSubjectSequence: 0 }, ttl)).seq;
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      const latest = await this.read(key);
      if (latest !== null && latest.operation !== 'PUT') {
        try {
          const pub = { lastSubjectSequence: latest.revision };
          return (await this.publish(key, value, undefined, pub, ttl)).seq;
        } catch (again) {
          if (!isWrongLastSequence(again)) throw again;
        }
      }
      throw new KeyExistsError(key, err.apiCode);
    }
  }

  /**
   * Stores a value only when `lastRevision` is the key's latest revision (compare-and-set) and
   * resolves the new revision. Rejects with `WrongLastRevisionError` otherwise.
   */
  async update(key: string, value: Uint8Array | string, lastRevision: number): Promise<number> {
    validateKey(key, true);
    return (await this.guarded(key, value, undefined, lastRevision)).seq;
  }

  /**
   * Writes a delete marker (history is kept) and resolves its revision. With `lastRevision`,
   * rejects with `WrongLastRevisionError` when that is not the latest revision.
   */
  async delete(key: string, opts: { lastRevision?: number } = {}): Promise<number> {
    validateKey(key, true);
    return (await this.guarded(key, undefined, DEL, opts.lastRevision)).seq;
  }

  /**
   * Writes a purge marker that removes every earlier revision of the key; resolves its
   * revision. With `lastRevision`, rejects with `WrongLastRevisionError` when it is not the latest.
   * With `ttl` the marker itself expires (ADR-48; nats-server 2.11+, and a bucket with
   * `limitMarkerTtl`, else `MessageTtlDisabledError`).
   */
  async purge(key: string, opts: KvPurgeOptions = {}): Promise<number> {
    validateKey(key, true);
    return (await this.guarded(key, undefined, PURGE, opts.lastRevision, opts.ttl)).seq;
  }

  /**
   * Removes delete and purge markers: those older than `olderThan` with their key, newer ones
   * down to the marker alone; `olderThan: 0` removes every marker (nats.go reads 0 as its
   * 30-minute default). Resolves the number of messages removed.
   */
  async purgeDeletes(opts: KvPurgeDeletesOptions = {}): Promise<number> {
    const olderThan = opts.olderThan ?? THIRTY_MINUTES;
    const w = await this.watch({ metaOnly: true });
    const markers: KvEntry[] = [];
    try {
      for await (const e of w.initialValues()) if (e.operation !== 'PUT') markers.push(e);
    } finally {
      w.stop();
    }
    let purged = 0;
    const now = Date.now();
    for (const m of markers) {
      const keep = olderThan > 0 && now - m.created.getTime() < olderThan ? 1 : undefined;
      const filter = this.keyPrefix + m.key;
      purged += (await this.streams.purge(this.streamName, { filter, keep })).purged;
    }
    return purged;
  }

  /**
   * The keys that hold a value, optionally only those matching subject-style filters (`*`, `>`),
   * evaluated by the server. Throws `InvalidKeyError` for a bad filter.
   */
  keys(filter?: string | string[]): AsyncIterable<string> {
    const list = Array.isArray(filter) ? filter : [filter];
    const filters = (list.length ? list : ['>']).map(validateFilter);
    const open = (key: string) => this.watch({ key, metaOnly: true, ignoreDeletes: true });
    return {
      async *[Symbol.asyncIterator]() {
        const seen = new Set<string>();
        for (const key of filters) {
          for await (const e of initialValuesOf(() => open(key))) {
            if (seen.has(e.key)) continue;
            seen.add(e.key);
            yield e.key;
          }
        }
      },
    };
  }

  /** Every stored revision of `key` (or of the keys matching a filter), markers included, oldest first. */
  history(key = '>'): AsyncIterable<KvEntry> {
    const filter = validateFilter(key);
    return initialValuesOf(() => this.watch({ key: filter, includeHistory: true }));
  }

  /**
   * Watches one key, a filter or the whole bucket: the latest value of each key first (every
   * revision with `includeHistory`, none with `updatesOnly`), then every change, across
   * reconnects and server restarts. Resolves once the consumer exists. The end of the initial
   * values is marked three ways: `initialized` resolves (with their count) once they were all
   * received, `initialValues()` iterates them and ends there, and later entries have
   * `isUpdate: true`. Rejects with `BucketNotFoundError`; throws `InvalidKeyError`.
   */
  async watch(opts: KvWatchOptions = {}): Promise<KvWatcher> {
    const filter = this.keyPrefix + validateFilter(opts.key);
    if (opts.updatesOnly && (opts.includeHistory || opts.resumeFromRevision !== undefined)) {
      throw new InvalidOptionError('updatesOnly excludes includeHistory and resumeFromRevision');
    }
    const start = opts.resumeFromRevision;
    const policy = opts.includeHistory ? 'all' : opts.updatesOnly ? 'new' : 'last_per_subject';
    const prefixLen = this.keyPrefix.length;
    return Watcher.start<KvWatchEntry>({
      js: this.js,
      bucket: this.bucket,
      stream: this.streamName,
      filter,
      deliverPolicy: start !== undefined ? 'by_start_sequence' : policy,
      optStartSeq: start,
      headersOnly: opts.metaOnly,
      updatesOnly: opts.updatesOnly,
      idleHeartbeat: opts.idleHeartbeat,
      map: (m, isUpdate) => {
        const e = entryFromJsMsg(this.bucket, prefixLen, m, isUpdate);
        return opts.ignoreDeletes && e.operation !== 'PUT' ? undefined : e;
      },
      isEmpty: async () => {
        const last = await this.read(filter.slice(prefixLen));
        return last === null || (start !== undefined && last.revision < start);
      },
    });
  }

  /** The bucket's configuration and size. Rejects with `BucketNotFoundError`. */
  async status(): Promise<KvStatus> {
    return kvStatus(this.bucket, await kvStreams.info(this.js, this.bucket));
  }

  /** The latest message on a key or filter, or a revision of a key; markers included. */
  private read(key: string, revision?: number): Promise<Entry | null> {
    const found = this.direct ? this.readDirect(key, revision) : this.readByApi(key, revision);
    if (revision === undefined) return found;
    return found.then((e) => (e !== null && e.key !== key ? null : e));
  }

  private readDirect(key: string, revision: number | undefined): Promise<Entry | null> {
    const subject = this.keyPrefix + key;
    const nc = this.js.nc;
    // The subject form of a last-by-subject direct get needs no JSON body; wildcards need one.
    const send =
      revision === undefined && !/[*>]/.test(key)
        ? (timeout: number) => nc.request(`${this.directGet}.${subject}`, undefined, { timeout })
        : (timeout: number) =>
            nc.request(this.directGet, JSON.stringify(readBody(subject, revision)), { timeout });
    return unlessBucketGone(send, this.streams, this.streamName, this.bucket, this.js.api.timeout)
      .then((msg) => entryFromDirect(this.bucket, this.keyPrefix.length, msg))
      .catch(this.explained);
  }

  private async readByApi(key: string, revision: number | undefined): Promise<Entry | null> {
    try {
      const suffix = `STREAM.MSG.GET.${this.streamName}`;
      const body = readBody(this.keyPrefix + key, revision);
      const r = await this.js.api.request<{ type?: string; message: StoredMsgWire }>(suffix, body);
      return entryFromMsgGet(this.bucket, this.keyPrefix.length, r.message);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.apiCode === JsApiCode.NO_MESSAGE_FOUND)
        return null;
      throw bucketNotFound(err, this.bucket);
    }
  }

  private publish(
    key: string,
    value: Uint8Array | string | undefined,
    headers: HeadersInit | undefined,
    expect: PublishExpectations | undefined,
    ttl?: KvTtl,
  ): Promise<PubAck> {
    return this.js
      .publish(this.writePrefix + key, value, { headers, expect, ttl })
      .catch(this.explained);
  }

  /**
   * Rejects with `BucketNotFoundError` for a request nobody answered because the bucket was
   * deleted, else with `err`.
   */
  private readonly explained = async (err: unknown): Promise<never> => {
    throw await explainUnanswered(this.streams, this.streamName, this.bucket, err);
  };

  private async guarded(
    key: string,
    value: Uint8Array | string | undefined,
    headers: HeadersInit | undefined,
    lastRevision: number | undefined,
    ttl?: KvTtl,
  ) {
    const expect = lastRevision === undefined ? undefined : { lastSubjectSequence: lastRevision };
    try {
      return await this.publish(key, value, headers, expect, ttl);
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      throw new WrongLastRevisionError(key, err.message, err.apiCode);
    }
  }
}
