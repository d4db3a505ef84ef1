import type { NatsConnection, Status } from '../../lib/core/index.js';

/** Collects every `status()` event of `nc` into the returned array, as they happen. */
export function recordStatus(nc: NatsConnection): Status[] {
  const seen: Status[] = [];
  void (async () => {
    for await (const status of nc.status()) seen.push(status);
  })();
  return seen;
}
