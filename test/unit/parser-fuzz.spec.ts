// Randomized parser tests with a seeded PRNG (set FUZZ_SEED to reproduce or explore): valid
// streams split anywhere, 100,000 mutated streams, and plain garbage. The parser may reject input
// only with a deliberate ProtocolError, and must behave the same however the input is split.
// The long run happens in a worker thread with a deadline: a stream that made the parser loop
// forever would otherwise hang jest instead of failing.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { prng } from '../support/prng.js';
import { SEED, mutatedStreams, run, split, validStream } from './parser-fuzz-inputs.js';
import type { FuzzWorkerData, FuzzWorkerResult } from './parser-fuzz.worker.js';

// A few seconds on an idle machine; the margin is for a loaded 2-core CI.
const FUZZ_DEADLINE_MS = 45_000;
// The worker is plain Node, outside jest's transform: it loads the TypeScript through swc hooks.
const TS_REGISTER = fileURLToPath(new URL('../../tools/ts-register.js', import.meta.url));

/** What to report when stream `n` never finished: how to reproduce it, and its bytes. */
function stuck(seed: number, n: number): Error {
  let i = 0;
  for (const { input } of mutatedStreams(seed)) {
    if (i++ < n) continue;
    return new Error(
      `the parser fuzz did not finish within ${FUZZ_DEADLINE_MS} ms: stream ${n} ` +
        `(FUZZ_SEED=${seed}) never returned, probably an infinite loop; ` +
        `input (base64): ${input.toString('base64')}`,
    );
  }
  return new Error(`the parser fuzz did not finish within ${FUZZ_DEADLINE_MS} ms`);
}

/** Runs the mutated streams in a worker; rejects naming the stuck stream past the deadline. */
function fuzzInWorker(seed: number): Promise<FuzzWorkerResult> {
  const data: FuzzWorkerData = { seed, progress: new SharedArrayBuffer(4) };
  const worker = new Worker(new URL('./parser-fuzz.worker.ts', import.meta.url), {
    execArgv: ['--import', TS_REGISTER],
    workerData: data,
  });
  return new Promise<FuzzWorkerResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      const n = Atomics.load(new Int32Array(data.progress), 0);
      void worker.terminate();
      reject(stuck(seed, n));
    }, FUZZ_DEADLINE_MS);
    const settle = (): void => {
      clearTimeout(timer);
      void worker.terminate();
    };
    worker.once('message', (result: FuzzWorkerResult) => {
      settle();
      resolve(result);
    });
    worker.once('error', (err) => {
      settle();
      reject(err);
    });
    worker.once('exit', (code) => {
      settle();
      reject(new Error(`the fuzz worker exited with code ${code} before reporting`));
    });
  });
}

describe('parser fuzzing', () => {
  it('yields the same operations for valid streams however they are split', () => {
    const rand = prng(SEED);
    for (let n = 0; n < 10_000; n++) {
      const stream = validStream(rand);
      const result = run(split(stream.bytes, rand));
      expect(result.error).toBeUndefined();
      if (result.events.join('\n') !== stream.events.join('\n')) {
        expect({ n, seed: SEED, events: result.events }).toEqual({
          n,
          seed: SEED,
          events: stream.events,
        });
      }
    }
  });

  it('survives 100,000 mutated or random streams with only ProtocolError, in bounded time', async () => {
    const { failures, streams, rejected, slowest, elapsed } = await fuzzInWorker(SEED);
    expect(failures).toEqual([]);
    expect(streams).toBe(100_000);
    // The mutations exercise both the error paths and the happy paths.
    expect(rejected).toBeGreaterThan(20_000);
    expect(rejected).toBeLessThan(95_000);
    expect(slowest).toBeLessThan(500);
    expect(elapsed).toBeLessThan(30_000);
  }, 60_000);
});
