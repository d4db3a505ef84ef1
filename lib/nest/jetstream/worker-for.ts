import type { JetStreamManager } from '../../jetstream/internal.js';
import { JetStreamWorker, type JetStreamWorkerOptions } from './jetstream-worker.js';
import { PartitionedHandler } from './partitions/partitioned-handler.js';
import { PinnedWorker } from './pinned-worker.js';

/** What the transport starts for a `@JetStreamHandler` and stops on `close()`. */
export interface HandlerRunner {
  start(): Promise<void>;
  /** Stops pulling; an exclusive or partitioned runner settles once its pins are handed over. */
  stop(): void | Promise<void>;
}

/** The runner of a handler: partitioned, exclusive (pinned) or plain. */
export function startWorker(jsm: JetStreamManager, o: JetStreamWorkerOptions): HandlerRunner {
  if (o.options.partitions !== undefined) return new PartitionedHandler({ ...o, jsm });
  if (o.options.exclusive) return new PinnedWorker(o, jsm);
  return new JetStreamWorker(o);
}
