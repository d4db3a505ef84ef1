import { JetStreamClient } from '../jetstream/internal.js';

/**
 * The four methods that every bucket kind adds to the JetStream client, by what they do;
 * `BucketKindMethods` gives them the kind's names.
 */
interface BucketMethods<Options, Bucket> {
  /**
   * Creates the bucket `opts.bucket` (the stream `KV_<bucket>` for Key-Value, `OBJ_<bucket>` for
   * an object store, which keeps objects in chunks), or updates an existing one to `opts`, and
   * resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`; an option the server is
   * too old for (each option says what it needs) throws `FeatureNotSupportedError` before
   * anything is sent.
   */
  create(opts: Options): Promise<Bucket>;
  /** Binds to an existing bucket. Rejects with `BucketNotFoundError`. */
  open(bucket: string): Promise<Bucket>;
  /**
   * Deletes a bucket with all it holds (a KV bucket's keys and history, an object store's
   * objects, links and metadata); resolves true. Rejects with `BucketNotFoundError`.
   */
  delete(bucket: string): Promise<boolean>;
  /** The names of the account's buckets of this kind. */
  names(): AsyncIterable<string>;
}

/** What the client calls each method of the kind `Kind` (`KeyValue`: `createKeyValue` and so on). */
interface MethodNames<Kind extends string> {
  create: `create${Kind}`;
  open: Uncapitalize<Kind>;
  delete: `delete${Kind}`;
  names: `${Uncapitalize<Kind>}Names`;
}

/**
 * The methods a bucket kind adds to the JetStream client, under the kind's names. The kind
 * declares them with `interface JetStreamClient extends BucketKindMethods<Kind, Options, Bucket>`
 * and installs them with `addBucketKindMethods()`.
 */
export type BucketKindMethods<Kind extends string, Options, Bucket> = {
  [M in keyof BucketMethods<Options, Bucket> as MethodNames<Kind>[M]]: BucketMethods<
    Options,
    Bucket
  >[M];
};

/** The client method called `Name`, once a kind has declared it. */
type ClientMethod<Name> = Name extends keyof JetStreamClient
  ? JetStreamClient[Name] extends (...args: infer A) => infer R
    ? (js: JetStreamClient, ...args: A) => R
    : never
  : never;

/**
 * What implements a kind's methods: its functions named like them (but `open<Kind>` for
 * `<kind>`), each taking the client first, with the types the kind declared.
 */
export type BucketKindFunctions<Kind extends string> = {
  [
    M in keyof MethodNames<Kind> as M extends 'open' ? `open${Kind}` : MethodNames<Kind>[M]
  ]: ClientMethod<MethodNames<Kind>[M]>;
};

/**
 * Adds the methods of the bucket kind `kind` to every JetStream client, each calling the kind's
 * function of the same role from `fns` (a kind passes its manager module). The JetStream layer
 * knows nothing of buckets (dependency direction), so KV and the object store add the methods that
 * they declare on `JetStreamClient` this way when they load.
 */
export function addBucketKindMethods<Kind extends string>(
  kind: Kind,
  fns: BucketKindFunctions<Kind>,
): void {
  const lower = kind[0].toLowerCase() + kind.slice(1);
  // The client's name for each method, and the name of the kind's function behind it.
  const names = [
    [`create${kind}`, `create${kind}`],
    [lower, `open${kind}`],
    [`delete${kind}`, `delete${kind}`],
    [`${lower}Names`, `${lower}Names`],
  ];
  const impl = fns as Record<string, (js: JetStreamClient, ...args: unknown[]) => unknown>;
  const proto = JetStreamClient.prototype as unknown as Record<string, unknown>;
  for (const [method, fn] of names) {
    const call = impl[fn];
    proto[method] = function (this: JetStreamClient, ...args: unknown[]) {
      return call(this, ...args);
    };
  }
}
