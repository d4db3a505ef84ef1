import {
  BucketStreams,
  s2Compression,
  validateBucketName,
  type StreamConfigExt,
} from '../buckets/internal.js';
import { InvalidOptionError, requireServer, type NatsConnection } from '../core/internal.js';
import { TTL_SINCE, type StreamInfo } from '../jetstream/internal.js';
import type { KvOptions, KvStatus } from './types.js';

const MAX_HISTORY = 64;
const TWO_MINUTES = 2 * 60 * 1000;

/** The streams behind KV buckets: `KV_<bucket>`, listed by their subjects `$KV.<bucket>.>`. */
export const kvStreams = new BucketStreams('KV_', '$KV.*.>');

/**
 * The backing stream's configuration for a bucket (ADR-8). Throws `InvalidBucketNameError`,
 * `InvalidOptionError` for a history outside 1..64 or a bad `limitMarkerTtl`, or
 * `FeatureNotSupportedError` for compression on a server older than 2.10 and `limitMarkerTtl`
 * on one older than 2.11.
 */
export function kvStreamConfig(opts: KvOptions, nc: NatsConnection): StreamConfigExt {
  const b = opts.bucket;
  validateBucketName(b);
  const history = opts.history ?? 1;
  if (!Number.isInteger(history) || history < 1 || history > MAX_HISTORY) {
    throw new InvalidOptionError(`history must be an integer from 1 to ${MAX_HISTORY}`);
  }
  const ttl = opts.ttl ?? 0;
  if (ttl < 0) throw new InvalidOptionError('ttl must not be negative');
  const config: StreamConfigExt = {
    name: kvStreams.nameOf(b),
    subjects: [`$KV.${b}.>`],
    description: opts.description,
    retention: 'limits',
    maxMsgsPerSubject: history,
    maxAge: ttl,
    maxBytes: opts.maxBytes ?? -1,
    maxMsgSize: opts.maxValueSize ?? -1,
    maxMsgs: -1,
    maxConsumers: -1,
    storage: opts.storage ?? 'file',
    numReplicas: opts.replicas ?? 1,
    discard: 'new',
    allowRollupHdrs: true,
    denyDelete: true,
    allowDirect: opts.allowDirect ?? true,
    duplicateWindow: ttl > 0 && ttl < TWO_MINUTES ? ttl : TWO_MINUTES,
    placement: opts.placement,
    metadata: opts.metadata,
  };
  if (opts.republish) {
    const { src, dest, headersOnly } = opts.republish;
    config.republish = { src: src ?? `$KV.${b}.>`, dest, headersOnly };
  }
  if (opts.compression) config.compression = s2Compression(nc);
  if (opts.limitMarkerTtl !== undefined) {
    const ms = opts.limitMarkerTtl;
    if (!Number.isSafeInteger(ms) || ms < 1000 || ms % 1000 !== 0)
      throw new InvalidOptionError(
        'limitMarkerTtl must be milliseconds in whole seconds, at least 1000',
      );
    requireServer(nc, TTL_SINCE, 'limitMarkerTtl');
    // Left out when not asked for, so updating a bucket never turns markers off (ADR-48).
    config.allowMsgTtl = true;
    config.subjectDeleteMarkerTtl = ms;
  }
  return config;
}

/** A bucket's status from its stream info. */
export function kvStatus(bucket: string, info: StreamInfo): KvStatus {
  const c = info.config as StreamConfigExt;
  return {
    bucket,
    values: info.state.messages,
    history: c.maxMsgsPerSubject ?? 1,
    ttl: c.maxAge ?? 0,
    bytes: info.state.bytes,
    backingStore: 'JetStream',
    streamName: c.name,
    storage: c.storage ?? 'file',
    replicas: c.numReplicas ?? 1,
    description: c.description ?? '',
    isCompressed: c.compression === 's2',
    allowDirect: c.allowDirect === true,
    limitMarkerTtl: c.subjectDeleteMarkerTtl ?? 0,
    streamInfo: info,
  };
}
