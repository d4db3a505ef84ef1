// How a partitioned handler's messages are split: the stream's subject transform prefixes every
// stored subject with its partition number, which nats-server computes from the chosen wildcard
// tokens (`{{partition(N,i,...)}}`, a hash of the tokens modulo N), so a key always lands in the
// same partition. Partition p's consumer filters on `p.<subject>`.
import { InvalidOptionError } from '../../../core/internal.js';
import type {
  JetStreamManager,
  StreamConfig,
  SubjectTransform,
} from '../../../jetstream/internal.js';
import type { JetStreamHandlerOptions } from '../jetstream-handler.decorator.js';
import { ProvisioningError } from '../provisioner.js';
import { partitionCount, partitionDurable } from './durables.js';

/** The subject a partitioned handler's stream takes (its transform source). */
function sourceOf(opts: JetStreamHandlerOptions): string {
  return opts.filterSubject ?? '';
}

/** The stream transform of a partitioned handler; throws `InvalidOptionError` for bad options. */
export function partitionTransform(opts: JetStreamHandlerOptions): SubjectTransform {
  const where = `@JetStreamHandler ${opts.stream}/${opts.durable}`;
  const n = partitionCount(opts);
  const src = sourceOf(opts);
  const tokens = src.split('.');
  const stars = tokens.filter((t) => t === '*').length;
  const by =
    opts.partitionBy === undefined
      ? Array.from({ length: stars }, (_, i) => i + 1)
      : [opts.partitionBy].flat();
  if (by.length === 0)
    throw new InvalidOptionError(
      `${where}: a partitioned subject needs a '*' token to partition by (${src} has none)`,
    );
  for (const i of by)
    if (!Number.isInteger(i) || i < 1 || i > stars)
      throw new InvalidOptionError(
        `${where}: partitionBy ${i} is not one of the ${stars} '*' tokens of ${src} (1 to ${stars})`,
      );
  let star = 0;
  const rest = tokens.map((t) => (t === '*' ? `{{wildcard(${++star})}}` : t));
  return { src, dest: [`{{partition(${n},${by.join(',')})}}`, ...rest].join('.') };
}

/** The filter of partition `p`'s consumer. */
export function partitionFilter(opts: JetStreamHandlerOptions, p: number): string {
  return `${p}.${sourceOf(opts)}`;
}

/** The options of partition `p`: its own exclusive durable `<durable>-<p>` on its own filter. */
export function partitionOptions(
  opts: JetStreamHandlerOptions,
  p: number,
): JetStreamHandlerOptions {
  const { partitions: _n, partitionBy: _b, membership: _m, ...rest } = opts;
  return {
    ...rest,
    exclusive: true,
    durable: partitionDurable(opts.durable, p),
    filterSubject: partitionFilter(opts, p),
  };
}

function sameTransform(a: SubjectTransform | undefined, b: SubjectTransform): boolean {
  return a !== undefined && a.src === b.src && a.dest === b.dest;
}

/**
 * The declared streams with the transform of each partitioned handler added to its stream. A
 * declared stream with another transform is refused (`ProvisioningError`), never overwritten.
 */
export function withPartitionTransforms(
  streams: StreamConfig[],
  handlers: JetStreamHandlerOptions[],
): StreamConfig[] {
  const out = streams.map((s) => ({ ...s }));
  for (const opts of handlers) {
    if (opts.partitions === undefined) continue;
    const want = partitionTransform(opts);
    const cfg = out.find((s) => s.name === opts.stream);
    if (cfg === undefined) continue; // not declared: verified on the server
    if (cfg.subjectTransform === undefined) cfg.subjectTransform = want;
    else if (!sameTransform(cfg.subjectTransform, want))
      throw new ProvisioningError(
        `stream ${cfg.name}: declares the subject transform ${JSON.stringify(cfg.subjectTransform)} but the partitioned handler ${opts.durable} needs ${JSON.stringify(want)}`,
      );
  }
  return out;
}

/** The handler's stream exists and partitions its subjects as the handler expects. */
export async function verifyPartitionTransform(
  jsm: JetStreamManager,
  opts: JetStreamHandlerOptions,
): Promise<void> {
  const want = partitionTransform(opts);
  const have = (await jsm.streams.info(opts.stream)).config.subjectTransform;
  if (!sameTransform(have, want))
    throw new ProvisioningError(
      `stream ${opts.stream}: the partitioned handler ${opts.durable} needs the subject transform ${JSON.stringify(want)}, the stream has ${have === undefined ? 'none' : JSON.stringify(have)}; declare the stream in ServerNats options.streams to have it added, or add it yourself`,
    );
}
