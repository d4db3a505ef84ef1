// A partitioned `@JetStreamHandler`: one exclusive (pinned) consumer per partition, and a worker
// for each partition this instance is assigned. Membership (KV leases) tells who is alive; the
// assignment (rendezvous hashing) tells each instance its partitions. When a partition moves
// away, this instance stops pulling it, lets the message in progress finish, then unpins the
// consumer so the new owner's waiting pull is pinned at once instead of after `priorityTimeout`.
// A partition moving here is pulled at once: until the old owner lets go (or its pin times out,
// when it died) the server keeps serving the old owner only, so one partition is never
// processed by two instances at the same time.
import { nuid } from '../../../core/internal.js';
import type { JetStreamManager } from '../../../jetstream/internal.js';
import type { JetStreamWorkerOptions } from '../jetstream-worker.js';
import { PinnedWorker } from '../pinned-worker.js';
import { provisionConsumer } from '../provisioner.js';
import { assignPartitions } from './assignment.js';
import { DEFAULT_LEASE_TTL, DEFAULT_MEMBERS_BUCKET, Membership } from './membership.js';
import { partitionOptions } from './transform.js';
import { countUnpartitioned, unpartitionedWarning } from './unpartitioned.js';

/** The worker options of the whole handler; each partition gets its own consumer and log. */
export type PartitionedHandlerOptions = Omit<JetStreamWorkerOptions, 'reprovision'> & {
  jsm: JetStreamManager;
  /** This app instance's id among the handler's members. @default a new unique id */
  instanceId?: string;
};

/** Runs the partitions of one handler that this instance is assigned. */
export class PartitionedHandler {
  /** This instance's member id. */
  readonly instanceId: string;
  private readonly running = new Map<number, PinnedWorker>();
  private readonly membership: Membership;
  private readonly partitions: number;
  // Rebalances run one after another, in the order the member sets arrived.
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: PartitionedHandlerOptions) {
    this.instanceId = o.instanceId ?? nuid.next();
    this.partitions = o.options.partitions ?? 1;
    const m = o.options.membership ?? {};
    this.membership = new Membership({
      js: o.js,
      bucket: m.bucket ?? DEFAULT_MEMBERS_BUCKET,
      ttl: m.ttl ?? DEFAULT_LEASE_TTL,
      scope: `${o.options.stream}.${o.options.durable}`,
      instanceId: this.instanceId,
      onChange: (members) => this.rebalance(members),
      onError: (err) => o.log.error(err),
    });
  }

  /** The partitions this instance pulls now. */
  get owned(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /**
   * Creates (or checks) every partition's consumer, warns about messages stored before the
   * partition transform, then joins the members.
   */
  async start(): Promise<void> {
    for (let p = 0; p < this.partitions; p++)
      await provisionConsumer(this.o.jsm, partitionOptions(this.o.options, p));
    const left = unpartitionedWarning(
      this.o.options,
      await countUnpartitioned(this.o.jsm, this.o.options),
    );
    if (left !== undefined) this.o.log.warn(left);
    await this.membership.start();
  }

  /** Leaves the members and stops every partition; settles once each was let go. */
  async stop(): Promise<void> {
    this.stopped = true;
    const left = this.membership.stop();
    await Promise.all([left, ...this.owned.map((p) => this.release(p))]);
  }

  private rebalance(members: string[]): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      const mine = new Set(assignPartitions(this.partitions, members).get(this.instanceId) ?? []);
      this.o.log.debug(
        `members ${members.join(', ')}: this instance (${this.instanceId}) takes partitions [${[...mine].join(', ')}]`,
      );
      // Letting go waits for the message in progress; taking need not wait for that.
      await Promise.all([
        ...this.owned.filter((p) => !mine.has(p)).map((p) => this.release(p)),
        ...[...mine].filter((p) => !this.running.has(p)).map((p) => this.take(p)),
      ]);
    });
    this.queue = this.queue.catch((err: unknown) => this.o.log.error(err));
  }

  private async take(p: number): Promise<void> {
    const opts = partitionOptions(this.o.options, p);
    const worker = new PinnedWorker(
      { ...this.o, options: opts, reprovision: () => provisionConsumer(this.o.jsm, opts) },
      this.o.jsm,
    );
    this.running.set(p, worker);
    await worker.start();
    // Stopped (or moved away) while it started: the stop came before its pulls did.
    if (this.running.get(p) !== worker) await worker.stop();
  }

  /** Stops pulling partition `p` and hands its pin over (see `PinnedWorker.stop()`). */
  private async release(p: number): Promise<void> {
    const worker = this.running.get(p);
    if (worker === undefined) return;
    this.running.delete(p);
    await worker.stop();
  }
}
