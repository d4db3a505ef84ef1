// A request to the JetStream API normally answers within a millisecond or two; one still open
// after this long may be waiting on something that is gone.
const PROBE_AFTER_MS = 500;

/**
 * Waits for `read`. Some reads are never answered when the state they assume changed (a direct
 * get to a deleted stream, or to one re-created without direct get, reaches the JetStream API,
 * which stays silent), so they would only end with the timeout. If `read` is still open after
 * PROBE_AFTER_MS (or half of `timeout`), `probe` runs once: resolving `{ value }` settles with
 * that value, rejecting settles with its error, resolving undefined keeps waiting for `read`.
 */
export function probeIfSlow<T>(
  read: Promise<T>,
  timeout: number,
  probe: () => Promise<{ value: T } | undefined>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let open = true;
    const settle = (finish: () => void): void => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(
      () => {
        probe().then(
          (found) => {
            if (found !== undefined) settle(() => resolve(found.value));
          },
          (err: unknown) => settle(() => reject(err)),
        );
      },
      Math.min(PROBE_AFTER_MS, timeout / 2),
    );
    read.then(
      (value) => settle(() => resolve(value)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}
