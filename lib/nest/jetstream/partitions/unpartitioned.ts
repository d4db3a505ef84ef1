// Messages a stream stored on a partitioned handler's subject before it had the partition
// transform keep their subjects: no partition's filter (`<p>.<subject>`) matches them, so no
// instance ever processes them. Counted at start-up (one stream info that lists the stored
// subjects matching the handler's subject: none in the usual case) and reported with the fix.
import type { JetStreamManager } from '../../../jetstream/internal.js';
import type { JetStreamHandlerOptions } from '../jetstream-handler.decorator.js';
import { partitionCount } from './durables.js';
import { partitionTransform } from './transform.js';

/** How many stored messages of the handler's subject belong to no partition. */
export async function countUnpartitioned(
  jsm: JetStreamManager,
  opts: JetStreamHandlerOptions,
): Promise<number> {
  const src = partitionTransform(opts).src;
  const n = partitionCount(opts);
  const info = await jsm.streams.info(opts.stream, { subjectsFilter: src });
  let count = 0;
  for (const [subject, messages] of Object.entries(info.state.subjects ?? {}))
    if (!isPartitioned(subject, src, n)) count += messages;
  return count;
}

/**
 * The warning for `count` messages left out by the transform, with what to do; undefined for
 * none.
 */
export function unpartitionedWarning(
  opts: JetStreamHandlerOptions,
  count: number,
): string | undefined {
  if (count === 0) return undefined;
  const src = partitionTransform(opts).src;
  // A subject such as `*.>` also matches the partitioned subjects: a purge by it would take them.
  const purge = filterMatches(`0.${src}`.split('.'), src.split('.'))
    ? `delete the old ones by sequence (a purge of ${src} would also remove the partitioned ones)`
    : `purge the old ones (jsm.streams.purge('${opts.stream}', { filter: '${src}' }) or nats stream purge ${opts.stream} --subject '${src}')`;
  return (
    `stream ${opts.stream} holds ${count} message(s) on ${src} stored before it had the partition ` +
    `transform: they belong to no partition and are never processed. Publish them again (the ` +
    `stream now stores them as <partition>.${src}), then ${purge}`
  );
}

/** `<p>.<subject>` with p a partition number: stored through the transform. */
function isPartitioned(subject: string, src: string, partitions: number): boolean {
  const [first, ...rest] = subject.split('.');
  return /^\d+$/.test(first) && Number(first) < partitions && filterMatches(rest, src.split('.'));
}

/** NATS subject matching, by tokens (`*` one token, `>` one or more at the end). */
function filterMatches(subject: string[], filter: string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === '>') return subject.length > i;
    if (i >= subject.length || (filter[i] !== '*' && filter[i] !== subject[i])) return false;
  }
  return subject.length === filter.length;
}
