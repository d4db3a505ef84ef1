/** What a continuous pull (`consume()`) holds when it considers pulling again. */
export interface PullBudget {
  /** `maxMessages`: messages pulled and buffered at most. */
  max: number;
  /** Pull again only once pulled-and-buffered messages fall to this. */
  threshold: number;
  /** The largest batch the consumer accepts (learned from a 409), or Infinity. */
  batchLimit: number;
  /** `maxBytes` (0: the prefetch is bounded by messages only). */
  maxBytes: number;
  /** Messages the outstanding pulls may still deliver, plus the buffered ones. */
  msgs: number;
  /** Bytes the outstanding pulls may still fill, plus the buffered ones (with `maxBytes`). */
  bytes: number;
  /** A message did not fit the byte budget left: pull only with the whole budget. */
  needWholeBudget: boolean;
}

/** A pull request to send: its batch, and its byte budget (0: none). */
export interface PullPlan {
  batch: number;
  bytes: number;
}

/**
 * The pull to send now, or undefined when none is due: one that fills what is left of the
 * budget, once it is half used up (ADR-37's default threshold), never larger than the consumer
 * accepts.
 */
export function planPull(b: PullBudget): PullPlan | undefined {
  const batch = Math.min(b.max - b.msgs, b.batchLimit);
  if (b.msgs > b.threshold || batch <= 0) return undefined;
  if (b.maxBytes === 0) return { batch, bytes: 0 };
  if (b.bytes > b.maxBytes / 2 || (b.needWholeBudget && b.bytes > 0)) return undefined;
  return { batch, bytes: b.maxBytes - b.bytes };
}
