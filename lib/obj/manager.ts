import type { JetStreamClient } from '../jetstream/internal.js';
import { putBucketStream } from '../buckets/internal.js';
import { objStreamConfig } from './config.js';
import { objStreams } from './info.js';
import { ObjectStore } from './store.js';
import type { ObjectStoreOptions } from './types.js';

/**
 * Creates an object store, or updates it to `opts` when it exists with another configuration,
 * and resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`.
 */
export async function createObjectStore(
  js: JetStreamClient,
  opts: ObjectStoreOptions,
): Promise<ObjectStore> {
  const info = await putBucketStream(js, objStreamConfig(opts, js.nc));
  return new ObjectStore(js, opts.bucket, info.config.allowDirect === true);
}

/** Binds to an existing object store. Rejects with `BucketNotFoundError`. */
export async function openObjectStore(js: JetStreamClient, bucket: string): Promise<ObjectStore> {
  const info = await objStreams.info(js, bucket);
  return new ObjectStore(js, bucket, info.config.allowDirect === true);
}

/** Deletes an object store with its objects; resolves true. Rejects with `BucketNotFoundError`. */
export function deleteObjectStore(js: JetStreamClient, bucket: string): Promise<boolean> {
  return objStreams.delete(js, bucket);
}

/** The names of every object store of the account. */
export function objectStoreNames(js: JetStreamClient): AsyncIterable<string> {
  return objStreams.names(js);
}
