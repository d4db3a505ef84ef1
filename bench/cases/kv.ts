import { withJetStream } from '../jetstream-server.js';
import { RSS_SAMPLE_MASK, now, rate, sampleRss, within } from '../measure.js';
import type { BenchCase, BenchGroup, ClientKind, Figures } from '../types.js';

// Each client is imported only inside the worker that measures it.
const loadOurs = async () => {
  const core = await import('../../lib/core/index.js');
  await import('../../lib/jetstream/index.js');
  await import('../../lib/kv/index.js');
  return core;
};
const loadNatsJs = async () => ({
  ...(await import('@nats-io/transport-node')),
  ...(await import('@nats-io/kv')),
});

const OPS = 10_000;
const WARMUP = 500;
const VALUE = new Uint8Array(128).fill(0x61);
const PHASE_TIMEOUT = 120_000;

/** The two operations a case times, the same for both clients. */
interface KvOps {
  put(key: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

async function timed(ops: number, window: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ops) {
      const i = next++;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
      await op(i);
    }
  };
  const start = now();
  await within(
    Promise.all(Array.from({ length: window }, lane)),
    PHASE_TIMEOUT,
    () => `${next} of ${ops} operations started`,
  );
  const perSec = rate(ops, start);
  sampleRss();
  return perSec;
}

/** Puts `OPS` distinct keys, then gets them all, `window` operations at a time. */
async function workload(ops: KvOps, window: number): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) await ops.put(`warm.${i}`);
  for (let i = 0; i < WARMUP; i++) await ops.get(`warm.${i}`);
  const put = await timed(OPS, window, (i) => ops.put(`key.${i}`));
  const get = await timed(OPS, window, (i) => ops.get(`key.${i}`));
  return { put, get };
}

async function runKv(client: ClientKind, url: string, window: number): Promise<Figures> {
  const bucket = `bench_kv_${process.pid}`;
  return withJetStream(url, async ({ url: jsUrl }) => {
    if (client === 'ours') {
      const { connect } = await loadOurs();
      const nc = await connect({ servers: jsUrl });
      const js = nc.jetstream();
      const kv = await js.createKeyValue({ bucket, storage: 'memory' });
      try {
        return await workload({ put: (k) => kv.put(k, VALUE), get: (k) => kv.get(k) }, window);
      } finally {
        await js.deleteKeyValue(bucket);
        await nc.close();
      }
    }
    const { connect, Kvm } = await loadNatsJs();
    const nc = await connect({ servers: jsUrl });
    const kvm = new Kvm(nc);
    const kv = await kvm.create(bucket, { storage: 'memory' });
    try {
      return await workload({ put: (k) => kv.put(k, VALUE), get: (k) => kv.get(k) }, window);
    } finally {
      await kv.destroy();
      await nc.close();
    }
  });
}

const cases: BenchCase[] = [
  {
    id: 'kv-seq',
    description:
      `${OPS.toLocaleString('en-US')} KV puts of 128 B one after another into a memory bucket, ` +
      'then as many gets (direct get) of those keys, after 500 warm-up puts and gets.',
    metrics: [
      {
        key: 'put',
        label: 'KV put, sequential',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 1.3 },
      },
      {
        key: 'get',
        label: 'KV get, sequential',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 1.3 },
      },
    ],
    run: (client, url) => runKv(client, url, 1),
  },
  {
    id: 'kv-100',
    description: 'As kv-seq with 100 operations in flight (100 loops each awaiting its call).',
    metrics: [
      {
        key: 'put',
        label: 'KV put, 100 in flight',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 2 },
      },
      {
        key: 'get',
        label: 'KV get, 100 in flight',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 2 },
      },
    ],
    run: (client, url) => runKv(client, url, 100),
  },
];

const group: BenchGroup = { name: 'kv', cases };
export default group;
