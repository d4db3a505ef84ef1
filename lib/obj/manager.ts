import { JetStreamApiError } from '../core/index.js';
import { StreamsApi, type JetStreamClient, type StreamInfo } from '../jetstream/index.js';
import { bucketNames, bucketNotFound, validateBucketName } from '../kv/internal.js';
import { objStreamConfig } from './config.js';
import { objStreamName } from './info.js';
import { ObjectStore } from './store.js';
import type { ObjectStoreOptions } from './types.js';

const ERR_STREAM_NAME_IN_USE = 10058;

/**
 * Creates an object store, or updates it to `opts` when it exists with another configuration,
 * and resolves it. Throws `InvalidBucketNameError` or `InvalidOptionError`.
 */
export async function createObjectStore(
  js: JetStreamClient,
  opts: ObjectStoreOptions,
): Promise<ObjectStore> {
  const config = objStreamConfig(opts, js.nc);
  const streams = new StreamsApi(js.api);
  let info: StreamInfo;
  try {
    info = await streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.apiCode === ERR_STREAM_NAME_IN_USE)) throw err;
    info = await streams.update(config.name, config);
  }
  return new ObjectStore(js, opts.bucket, info.config.allowDirect === true);
}

/** Binds to an existing object store. Rejects with `BucketNotFoundError`. */
export async function openObjectStore(js: JetStreamClient, bucket: string): Promise<ObjectStore> {
  validateBucketName(bucket);
  try {
    const info = await new StreamsApi(js.api).info(objStreamName(bucket));
    return new ObjectStore(js, bucket, info.config.allowDirect === true);
  } catch (err) {
    throw bucketNotFound(err, bucket);
  }
}

/** Deletes an object store with its objects; resolves true. Rejects with `BucketNotFoundError`. */
export async function deleteObjectStore(js: JetStreamClient, bucket: string): Promise<boolean> {
  validateBucketName(bucket);
  try {
    return await new StreamsApi(js.api).delete(objStreamName(bucket));
  } catch (err) {
    throw bucketNotFound(err, bucket);
  }
}

/** The names of every object store of the account. */
export function objectStoreNames(js: JetStreamClient): AsyncIterable<string> {
  return bucketNames(js, 'OBJ_', '$O.*.C.>');
}
