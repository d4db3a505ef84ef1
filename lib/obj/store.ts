import { InvalidOptionError, nuid, type HeadersInit } from '../core/internal.js';
import { StreamsApi, type JetStreamClient } from '../jetstream/internal.js';
import {
  Watcher,
  bucketNotFound,
  explainUnanswered,
  initialValuesOf,
  unlessBucketGone,
  validateBucketName,
} from '../buckets/internal.js';
import { objStatus } from './config.js';
import {
  InvalidLinkError,
  InvalidObjectNameError,
  ObjectExistsError,
  ObjectNotFoundError,
  sealedError,
} from './errors.js';
import {
  DEFAULT_CHUNK_SIZE,
  encodeName,
  fromInfoWire,
  headersMap,
  linkInfo,
  objStreams,
  toInfoWire,
  type ObjectInfoWire,
} from './info.js';
import { readLastMeta, type MetaMsg } from './meta-read.js';
import { collect, download, upload } from './transfer.js';
import type {
  ObjectData,
  ObjectInfo,
  ObjectMeta,
  ObjectResult,
  ObjectStoreStatus,
  ObjectWatchOptions,
} from './types.js';

const ROLLUP: HeadersInit = { 'Nats-Rollup': 'sub' };
// Chunk publishes awaiting their ack at once during a put.
const PUT_WINDOW = 32;

/** A running `os.watch()`: iterate it for infos; `initialized` marks the end of the current ones. */
export type ObjectWatcher = Watcher<ObjectInfo>;

/** An object store (ADR-20) on a JetStream stream `OBJ_<bucket>`. Made by `js.objectStore()`. */
export class ObjectStore {
  /** The backing stream's name. */
  readonly streamName: string;
  private readonly metaPrefix: string;
  private readonly chunkPrefix: string;
  private readonly streams: StreamsApi;

  constructor(
    /** The JetStream client the store talks through. */
    readonly js: JetStreamClient,
    /** The store's name. */
    readonly bucket: string,
    private readonly direct = true,
  ) {
    this.streamName = objStreams.nameOf(bucket);
    // Writes use these plain subjects under a domain or API prefix too, unlike KV's: nats-server
    // maps `$JS.<domain>.API.$OBJ.>` (sic), never `$O`, and does not deny `$O` on a leafnode
    // link, so the plain subject is the one that reaches the other domain (nats.go and nats.js
    // write there as well). See test/integration/jetstream-domain.spec.ts.
    this.metaPrefix = `$O.${bucket}.M.`;
    this.chunkPrefix = `$O.${bucket}.C.`;
    this.streams = new StreamsApi(js.api);
  }

  /**
   * Stores an object from bytes, a string or a stream of chunks, replacing any object of that
   * name, and resolves its info. Rejects with `StoreSealedError`, `InvalidObjectNameError`.
   */
  async put(meta: ObjectMeta, data: ObjectData): Promise<ObjectInfo> {
    checkName(meta.name);
    if ((meta as { options?: { link?: unknown } }).options?.link) {
      throw new InvalidLinkError('put() takes no link; use link() or linkStore()');
    }
    const chunkSize = meta.maxChunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > this.js.nc.maxPayload) {
      throw new InvalidOptionError(`maxChunkSize must be 1 to ${this.js.nc.maxPayload} bytes`);
    }
    const previous = this.info(meta.name, { showDeleted: true }).catch(() => null);
    const id = nuid.next();
    try {
      const up = await upload(this.js, this.chunkPrefix + id, data, chunkSize, PUT_WINDOW);
      const info = {
        bucket: this.bucket,
        name: meta.name,
        description: meta.description,
        headers: headersMap(meta.headers),
        metadata: meta.metadata,
        options: meta.maxChunkSize ? { maxChunkSize: chunkSize } : undefined,
        nuid: id,
        deleted: false,
        ...up,
      };
      const stored = await this.publishMeta(info);
      const old = await previous;
      if (old !== null && !old.deleted) await this.purgeChunks(old.nuid).catch(() => undefined);
      return stored;
    } catch (err) {
      await this.purgeChunks(id).catch(() => undefined);
      throw sealedError(await this.explain(err), this.bucket);
    }
  }

  /**
   * The object's info and content as a stream of chunks, or null when it does not exist. A link
   * to an object resolves to that object. The stream errors with `DigestMismatchError` when the
   * content is corrupt. Rejects with `InvalidLinkError` for a link to a store.
   */
  async get(name: string): Promise<ObjectResult | null> {
    const info = await this.info(name);
    if (info === null) return null;
    const link = info.options?.link;
    if (link === undefined) return { info, data: await this.content(info) };
    if (!link.name) throw new InvalidLinkError(`${name} links to the store ${link.bucket}`);
    const target = link.bucket === this.bucket ? this : await this.other(link.bucket);
    const linked = await target.info(link.name);
    if (linked === null) return null;
    if (linked.options?.link) throw new InvalidLinkError(`${name} links to another link`);
    return { info: linked, data: await target.content(linked) };
  }

  /** The whole content, or null when the object does not exist. Rejects with `DigestMismatchError`. */
  async getBytes(name: string): Promise<Uint8Array | null> {
    const r = await this.get(name);
    return r === null ? null : collect(r.info.name, r.data, r.info.size);
  }

  /** The object's info (deleted ones only with `showDeleted`), or null. */
  async info(name: string, opts: { showDeleted?: boolean } = {}): Promise<ObjectInfo | null> {
    checkName(name);
    const m = await this.lastMeta(this.metaPrefix + encodeName(name));
    if (m === null) return null;
    const info = fromInfoWire(m.wire, m.time, m.seq);
    return info.deleted && !opts.showDeleted ? null : info;
  }

  /** The info of every object (deleted ones too with `showDeleted`). */
  list(opts: { showDeleted?: boolean } = {}): AsyncIterable<ObjectInfo> {
    return initialValuesOf(() => this.watch({ ignoreDeletes: !opts.showDeleted }));
  }

  /** Deletes an object (a tombstone stays) and its chunks. Rejects with `ObjectNotFoundError`. */
  async delete(name: string): Promise<boolean> {
    const info = await this.info(name, { showDeleted: true });
    if (info === null) throw new ObjectNotFoundError(this.bucket, name);
    if (info.deleted) return true;
    const tombstone = { ...info, deleted: true, size: 0, chunks: 0, digest: '' };
    try {
      await this.publishMeta(tombstone);
      await this.purgeChunks(info.nuid);
    } catch (err) {
      throw sealedError(err, this.bucket);
    }
    return true;
  }

  /**
   * Changes an object's name, description, headers or metadata (fields left out are kept).
   * Rejects with `ObjectNotFoundError`, or `ObjectExistsError` when renaming onto a live object.
   */
  async updateMeta(
    name: string,
    meta: Partial<Omit<ObjectMeta, 'maxChunkSize'>>,
  ): Promise<ObjectInfo> {
    const info = await this.info(name);
    if (info === null) throw new ObjectNotFoundError(this.bucket, name);
    const newName = meta.name ?? name;
    checkName(newName);
    if (newName !== name && (await this.info(newName)) !== null) {
      throw new ObjectExistsError(this.bucket, newName);
    }
    const next = {
      ...info,
      name: newName,
      description: 'description' in meta ? meta.description : info.description,
      headers: 'headers' in meta ? headersMap(meta.headers) : info.headers,
      metadata: 'metadata' in meta ? meta.metadata : info.metadata,
    };
    try {
      const stored = await this.publishMeta(next);
      if (newName !== name) {
        await this.streams.purge(this.streamName, { filter: this.metaPrefix + encodeName(name) });
      }
      return stored;
    } catch (err) {
      throw sealedError(err, this.bucket);
    }
  }

  /**
   * Adds `name` as a link to another object (in this or another store). Rejects with
   * `InvalidLinkError` for a deleted target or a link, `ObjectExistsError` when `name` is a live object.
   */
  async link(name: string, target: ObjectInfo): Promise<ObjectInfo> {
    if (target.deleted) throw new InvalidLinkError(`cannot link to the deleted ${target.name}`);
    if (target.options?.link) throw new InvalidLinkError(`cannot link to the link ${target.name}`);
    return this.addLink(name, { bucket: target.bucket, name: target.name });
  }

  /**
   * Adds `name` as a link to a whole store. Rejects with `ObjectExistsError`; throws
   * `InvalidBucketNameError`.
   */
  async linkStore(name: string, store: ObjectStore | string): Promise<ObjectInfo> {
    const bucket = typeof store === 'string' ? store : store.bucket;
    validateBucketName(bucket);
    return this.addLink(name, { bucket });
  }

  /**
   * Watches the objects' infos: the latest of each first (every version with `includeHistory`,
   * none with `updatesOnly`), then every change. As with KV watches, `initialized` and
   * `initialValues()` mark the end of the first part. Rejects with `BucketNotFoundError`.
   */
  async watch(opts: ObjectWatchOptions = {}): Promise<ObjectWatcher> {
    const filter = `${this.metaPrefix}>`;
    const policy = opts.includeHistory ? 'all' : opts.updatesOnly ? 'new' : 'last_per_subject';
    return Watcher.start<ObjectInfo>({
      js: this.js,
      bucket: this.bucket,
      stream: this.streamName,
      filter,
      deliverPolicy: policy,
      updatesOnly: opts.updatesOnly,
      map: (m) => {
        const info = fromInfoWire(m.json<ObjectInfoWire>(), m.metadata.timestamp, m.seq);
        return opts.ignoreDeletes && info.deleted ? undefined : info;
      },
      isEmpty: async () => (await this.lastMeta(filter)) === null,
    });
  }

  /** Seals the store: no more writes or deletes, ever. Resolves the new status. */
  async seal(): Promise<ObjectStoreStatus> {
    try {
      return objStatus(this.bucket, await this.streams.update(this.streamName, { sealed: true }));
    } catch (err) {
      throw bucketNotFound(err, this.bucket);
    }
  }

  /** The store's configuration and size. Rejects with `BucketNotFoundError`. */
  async status(): Promise<ObjectStoreStatus> {
    return objStatus(this.bucket, await objStreams.info(this.js, this.bucket));
  }

  private async addLink(name: string, link: { bucket: string; name?: string }) {
    const existing = await this.info(name);
    if (existing !== null && !existing.options?.link)
      throw new ObjectExistsError(this.bucket, name);
    try {
      return await this.publishMeta(linkInfo(this.bucket, name, link));
    } catch (err) {
      throw sealedError(err, this.bucket);
    }
  }

  private content(info: ObjectInfo) {
    return download(this.js, this.streamName, this.chunkPrefix + info.nuid, info);
  }

  private async other(bucket: string): Promise<ObjectStore> {
    try {
      const info = await this.streams.info(objStreams.nameOf(bucket));
      return new ObjectStore(this.js, bucket, info.config.allowDirect === true);
    } catch (err) {
      throw bucketNotFound(err, bucket);
    }
  }

  /** Publishes an info as the object's only meta message (rollup) and resolves it as stored. */
  private async publishMeta(info: Omit<ObjectInfo, 'mtime' | 'revision'>): Promise<ObjectInfo> {
    const wire = toInfoWire(info);
    const subject = this.metaPrefix + encodeName(wire.name);
    const ack = await this.js.publish(subject, JSON.stringify(wire), { headers: ROLLUP });
    return fromInfoWire(wire, new Date(), ack.seq);
  }

  private purgeChunks(id: string): Promise<{ purged: number }> {
    return this.streams.purge(this.streamName, { filter: this.chunkPrefix + id });
  }

  /** The last meta message on a subject (or filter), or null. */
  private async lastMeta(subject: string): Promise<MetaMsg | null> {
    try {
      return await unlessBucketGone(
        (timeout) => readLastMeta(this.js, this.streamName, subject, this.direct, timeout),
        this.streams,
        this.streamName,
        this.bucket,
        this.js.api.timeout,
      );
    } catch (err) {
      throw bucketNotFound(await this.explain(err), this.bucket);
    }
  }

  /** `BucketNotFoundError` for a request nobody answered because the store was deleted. */
  private explain(err: unknown): Promise<unknown> {
    return explainUnanswered(this.streams, this.streamName, this.bucket, err);
  }
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidObjectNameError(name);
}
