import { JetStreamClient } from '../jetstream/internal.js';

/** How a bucket kind implements its methods, each taking the client first. */
export interface BucketKindFunctions<Options, Bucket> {
  create: (js: JetStreamClient, opts: Options) => Promise<Bucket>;
  open: (js: JetStreamClient, bucket: string) => Promise<Bucket>;
  delete: (js: JetStreamClient, bucket: string) => Promise<boolean>;
  names: (js: JetStreamClient) => AsyncIterable<string>;
}

/**
 * Adds a bucket kind's four methods (`create<Kind>`, `<kind>`, `delete<Kind>`, `<kind>Names`) to
 * every JetStream client. The JetStream layer knows nothing of buckets (dependency direction),
 * so KV and the object store add the methods that their `declare module` promises this way when
 * they load.
 */
export function addBucketKindMethods<Options, Bucket>(
  kind: string,
  fns: BucketKindFunctions<Options, Bucket>,
): void {
  const lower = kind[0].toLowerCase() + kind.slice(1);
  const methods: Record<string, (js: JetStreamClient, ...args: never[]) => unknown> = {
    [`create${kind}`]: fns.create,
    [lower]: fns.open,
    [`delete${kind}`]: fns.delete,
    [`${lower}Names`]: fns.names,
  };
  const proto = JetStreamClient.prototype as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(methods)) {
    const call = fn as (js: JetStreamClient, ...args: unknown[]) => unknown;
    proto[name] = function (this: JetStreamClient, ...args: unknown[]) {
      return call(this, ...args);
    };
  }
}
