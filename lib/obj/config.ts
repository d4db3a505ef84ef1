import type { NatsConnection } from '../core/internal.js';
import type { StreamInfo } from '../jetstream/internal.js';
import { s2Compression, validateBucketName, type StreamConfigExt } from '../buckets/internal.js';
import { objStreams } from './info.js';
import type { ObjectStoreOptions, ObjectStoreStatus } from './types.js';

/**
 * The backing stream's configuration for a store (ADR-20). Throws `InvalidBucketNameError`, or
 * `FeatureNotSupportedError` for compression on a server older than 2.10.
 */
export function objStreamConfig(opts: ObjectStoreOptions, nc: NatsConnection): StreamConfigExt {
  const b = opts.bucket;
  validateBucketName(b);
  const config: StreamConfigExt = {
    name: objStreams.nameOf(b),
    subjects: [`$O.${b}.C.>`, `$O.${b}.M.>`],
    description: opts.description,
    maxAge: opts.ttl ?? 0,
    maxBytes: opts.maxBytes ?? -1,
    storage: opts.storage ?? 'file',
    numReplicas: opts.replicas ?? 1,
    placement: opts.placement,
    discard: 'new',
    allowRollupHdrs: true,
    allowDirect: true,
    metadata: opts.metadata,
  };
  if (opts.compression) config.compression = s2Compression(nc);
  return config;
}

/** A store's status from its stream info. */
export function objStatus(bucket: string, info: StreamInfo): ObjectStoreStatus {
  const c = info.config as StreamConfigExt;
  const status: ObjectStoreStatus = {
    bucket,
    description: c.description ?? '',
    ttl: c.maxAge ?? 0,
    storage: c.storage ?? 'file',
    replicas: c.numReplicas ?? 1,
    sealed: c.sealed === true,
    size: info.state.bytes,
    backingStore: 'JetStream',
    streamName: c.name,
    isCompressed: c.compression === 's2',
    streamInfo: info,
  };
  if (c.metadata) status.metadata = c.metadata;
  return status;
}
