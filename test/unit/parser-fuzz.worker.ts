// Runs the long parser fuzz loop off the test's thread (started by parser-fuzz.spec.ts), so a
// stream that made the parser loop forever can be timed out and named instead of hanging jest.
// Before each stream it publishes the stream's index in `progress` (shared memory), which the
// test still reads while this thread is stuck.
import { parentPort, workerData } from 'node:worker_threads';
import { mutatedStreams, run, unexpected } from './parser-fuzz-inputs.js';

export interface FuzzWorkerData {
  seed: number;
  /** One Int32: the index of the stream being parsed. */
  progress: SharedArrayBuffer;
}

export interface FuzzWorkerResult {
  failures: Array<{ n: number; why: string; input: string }>;
  /** Streams parsed (all of them unless 5 failures stopped the run early). */
  streams: number;
  rejected: number;
  slowest: number;
  elapsed: number;
}

const { seed, progress } = workerData as FuzzWorkerData;
const current = new Int32Array(progress);
const failures: FuzzWorkerResult['failures'] = [];
let rejected = 0;
let slowest = 0;
// Most streams end in a ProtocolError; capturing 100,000s of stack traces would dominate.
Error.stackTraceLimit = 0;
const started = performance.now();
let n = 0;
for (const { input, pieces } of mutatedStreams(seed)) {
  if (failures.length >= 5) break;
  Atomics.store(current, 0, n);
  const t = performance.now();
  const whole = run([input]);
  const split = run(pieces);
  slowest = Math.max(slowest, performance.now() - t);
  if (whole.error !== undefined) rejected++;
  const fail = (why: string): number => failures.push({ n, why, input: input.toString('base64') });
  if (unexpected(whole.error)) fail(`whole: ${String(whole.error)}`);
  else if (unexpected(split.error)) fail(`split: ${String(split.error)}`);
  else if ((whole.error === undefined) !== (split.error === undefined))
    fail(`split changed the outcome: ${String(whole.error)} vs ${String(split.error)}`);
  else if (whole.events.join('\n') !== split.events.join('\n'))
    fail('split changed the operations');
  n++;
}
const result: FuzzWorkerResult = {
  streams: n,
  failures,
  rejected,
  slowest,
  elapsed: performance.now() - started,
};
parentPort!.postMessage(result);
