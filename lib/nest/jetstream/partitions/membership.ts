// Which instances of a partitioned handler are alive, through leases in a KV bucket: each
// instance puts `<stream>.<durable>.members.<instanceId>` every third of the lease's `ttl` and
// watches the others' keys. A member not heard from for `ttl` is dropped (it died or lost its
// connection); one that stops cleanly deletes its key and is dropped at once. The bucket's own
// max age is the lease `ttl`, so a new instance does not read long-dead members.
//
// The leases only balance the work: instances may briefly disagree on the members (one heard a
// heartbeat the other missed), and then two may pull the same partition or none may. Neither
// breaks anything, because each partition's consumer is pinned: the server serves one instance.
import {
  BucketNotFoundError,
  createKeyValue,
  openKeyValue,
  type KvBucket,
  type KvWatcher,
} from '../../../kv/internal.js';
import type { JetStreamClient } from '../../../jetstream/internal.js';

export const DEFAULT_MEMBERS_BUCKET = 'nestjs_nats_members';
export const DEFAULT_LEASE_TTL = 6000;

/** Where and how an instance keeps its lease, and who hears about the member set. */
export interface MembershipOptions {
  js: JetStreamClient;
  bucket: string;
  /** Lease lifetime without renewal, ms. */
  ttl: number;
  /** `<stream>.<durable>`: the keys of one handler's members start with it. */
  scope: string;
  /** This instance's id (a key token). */
  instanceId: string;
  /** The sorted live members, each time the set changes. */
  onChange: (members: string[]) => void;
  onError: (err: unknown) => void;
}

/** One instance's lease and its view of the others'. */
export class Membership {
  private kv: KvBucket | undefined;
  private watcher: KvWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, number>();
  private last = '';
  private stopped = false;

  constructor(private readonly o: MembershipOptions) {}

  private get prefix(): string {
    return `${this.o.scope}.members.`;
  }

  private get key(): string {
    return this.prefix + this.o.instanceId;
  }

  /** Joins: the first lease is stored and the others' are being watched. */
  async start(): Promise<void> {
    const { js, bucket, ttl } = this.o;
    try {
      this.kv = await openKeyValue(js, bucket);
    } catch (err) {
      if (!(err instanceof BucketNotFoundError)) throw err;
      this.kv = await createKeyValue(js, { bucket, ttl, history: 1, storage: 'memory' });
    }
    await this.renew();
    this.watcher = await this.kv.watch({ key: `${this.prefix}*` });
    void this.read(this.watcher);
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(ttl / 3)));
    this.timer.unref();
  }

  /** Leaves: the lease is deleted so the others rebalance at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.stop();
    await this.kv?.delete(this.key).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.kv!.put(this.key, String(Date.now()));
    } catch (err) {
      this.o.onError(err);
    }
    // Our own lease counts even when the watch is slow (or the put failed: we are still alive).
    this.seen.set(this.o.instanceId, Date.now());
    this.publish();
  }

  private async read(watcher: KvWatcher): Promise<void> {
    try {
      for await (const e of watcher) {
        const id = e.key.slice(this.prefix.length);
        if (e.operation === 'PUT') this.seen.set(id, Date.now());
        else this.seen.delete(id);
        this.publish();
      }
    } catch (err) {
      if (!this.stopped) this.o.onError(err);
    }
  }

  /** Drops expired leases and reports the member set when it changed. */
  private publish(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const [id, at] of this.seen)
      if (id !== this.o.instanceId && now - at > this.o.ttl) this.seen.delete(id);
    const members = [...this.seen.keys()].sort();
    const text = members.join(',');
    if (text === this.last) return;
    this.last = text;
    this.o.onChange(members);
  }
}
