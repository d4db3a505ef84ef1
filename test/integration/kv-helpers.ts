// Shared helpers of the KV and object store specs (not a spec file itself).
import '../../lib/kv/index.js';
import '../../lib/obj/index.js';

/** The error `p` rejects with; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Every item of an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Waits until `check()` holds, polling every 10 ms; gives up after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Pushes every item of `it` into `into` in the background, until it ends. */
export function drainInto<T>(it: AsyncIterable<T>, into: T[]): Promise<void> {
  return (async () => {
    for await (const x of it) into.push(x);
  })();
}

let counter = 0;
/** A fresh bucket name per call. */
export const bucketName = (prefix = 'b'): string => `${prefix}${++counter}_${process.pid}`;
