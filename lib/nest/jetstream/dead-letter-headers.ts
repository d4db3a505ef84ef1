// The headers of a dead letter, handler-side (failure-policy.ts) or advisory
// (advisory-dead-letter.ts): the original's, less those a stream acts on when it stores a
// message, then where the original came from.
import { MsgHeaders } from '../../core/internal.js';
import { TTL_HEADER } from '../../jetstream/internal.js';

// Read by nats-server on every publish: on the copy they would expire it (Nats-TTL), make it a
// schedule (Nats-Schedule, -Target, -TTL, -Source, -Time-Zone; Nats-Scheduler and
// Nats-Schedule-Next on what a schedule published), stage it in an atomic batch (Nats-Batch-Id,
// -Sequence, -Commit), check the original's expectations (Nats-Expected-*), purge the
// dead-letter subject (Nats-Rollup) or count it as an increment (Nats-Incr) - and a dead-letter
// stream without the feature refuses the copy outright.
const DIRECTIVES = new Set([TTL_HEADER, 'Nats-Rollup', 'Nats-Incr'].map((h) => h.toLowerCase()));
const DIRECTIVE_FAMILIES = ['nats-schedule', 'nats-batch-', 'nats-expected-'];

// Kept under another name: the dead-letter stream would drop a second dead letter with the same
// id (another stream's message with the same publisher id, a replayed message failing again).
const MSG_ID = 'nats-msg-id';
const DEAD_LETTER_MSG_ID = 'Nats-Dead-Letter-Msg-Id';

/** Where a dead letter's original was. */
export interface DeadLetterOrigin {
  /** Its subject; undefined when it was no longer stored (`Nats-Dead-Letter-Missing`). */
  subject: string | undefined;
  stream: string;
  consumer: string;
  /** Its stream sequence. */
  seq: number;
  deliveries: number;
}

/** True for a header the stream storing a copy would act on (case-insensitive). */
export function isStoreDirective(name: string): boolean {
  const lower = name.toLowerCase();
  return DIRECTIVES.has(lower) || DIRECTIVE_FAMILIES.some((f) => lower.startsWith(f));
}

/**
 * The original's headers without store directives (`Nats-Msg-Id` renamed
 * `Nats-Dead-Letter-Msg-Id`), plus `Nats-Dead-Letter-Subject` (or `-Missing`), `-Stream`,
 * `-Consumer`, `-Sequence` and `-Deliveries`.
 */
export function deadLetterHeaders(
  original: MsgHeaders | undefined,
  origin: DeadLetterOrigin,
): MsgHeaders {
  const h = new MsgHeaders();
  for (const [name, values] of original ?? []) {
    if (isStoreDirective(name)) continue;
    const kept = name.toLowerCase() === MSG_ID ? DEAD_LETTER_MSG_ID : name;
    for (const v of values) h.append(kept, v);
  }
  if (origin.subject !== undefined) h.set('Nats-Dead-Letter-Subject', origin.subject);
  else h.set('Nats-Dead-Letter-Missing', 'true');
  h.set('Nats-Dead-Letter-Stream', origin.stream);
  h.set('Nats-Dead-Letter-Consumer', origin.consumer);
  h.set('Nats-Dead-Letter-Sequence', String(origin.seq));
  h.set('Nats-Dead-Letter-Deliveries', String(origin.deliveries));
  return h;
}
