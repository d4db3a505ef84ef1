import { withJetStream } from '../jetstream-server.js';
import { now, sampleRss } from '../measure.js';
import type { BenchCase, BenchGroup, ClientKind, Figures } from '../types.js';

// Each client is imported only inside the worker that measures it.
const loadOurs = async () => {
  const core = await import('../../lib/core/index.js');
  await import('../../lib/jetstream/index.js');
  await import('../../lib/obj/index.js');
  return core;
};
const loadNatsJs = async () => ({
  ...(await import('@nats-io/transport-node')),
  ...(await import('@nats-io/obj')),
});

const MB = 1024 * 1024;
const SIZE = 64 * MB;

/** What a case times, the same for both clients: put the bytes, read them back as a stream. */
interface ObjOps {
  put(name: string, data: Uint8Array): Promise<unknown>;
  get(name: string): Promise<AsyncIterable<Uint8Array>>;
}

const mbPerSec = (bytes: number, start: number): number => bytes / MB / ((now() - start) / 1000);

async function workload(ops: ObjOps): Promise<Figures> {
  const data = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i += 4096) data[i] = (i >> 12) & 0xff;
  await ops.put('warm-up', data.subarray(0, 4 * MB));
  for await (const chunk of await ops.get('warm-up')) void chunk;
  sampleRss();
  let start = now();
  await ops.put('big', data);
  const put = mbPerSec(SIZE, start);
  sampleRss();
  start = now();
  let read = 0;
  for await (const chunk of await ops.get('big')) {
    read += chunk.length;
    if ((read & (16 * MB - 1)) < chunk.length) sampleRss();
  }
  const get = mbPerSec(read, start);
  if (read !== SIZE) throw new Error(`read ${read} of ${SIZE} bytes`);
  sampleRss();
  return { put, get };
}

async function runObj(client: ClientKind, url: string): Promise<Figures> {
  const bucket = `bench_obj_${process.pid}`;
  return withJetStream(url, async ({ url: jsUrl }) => {
    if (client === 'ours') {
      const { connect } = await loadOurs();
      const nc = await connect({ servers: jsUrl });
      const js = nc.jetstream();
      const os = await js.createObjectStore({ bucket, storage: 'memory' });
      try {
        return await workload({
          put: (name, data) => os.put({ name }, data),
          get: async (name) => (await os.get(name))!.data,
        });
      } finally {
        await js.deleteObjectStore(bucket);
        await nc.close();
      }
    }
    const { connect, Objm } = await loadNatsJs();
    const nc = await connect({ servers: jsUrl });
    const os = await new Objm(nc).create(bucket, { storage: 'memory' });
    try {
      return await workload({
        put: (name, data) => os.putBlob({ name }, data),
        get: async (name) => (await os.get(name))!.data,
      });
    } finally {
      await os.destroy();
      await nc.close();
    }
  });
}

const cases: BenchCase[] = [
  {
    id: 'obj-64mb',
    description:
      'Object store put of a 64 MiB object (128 KiB chunks) from memory into a memory store, ' +
      'then a get of it read to the end as a stream; after a 4 MiB warm-up put and get.',
    metrics: [
      { key: 'put', label: 'object put 64 MiB', unit: 'MB/s', better: 'higher' },
      { key: 'get', label: 'object get 64 MiB', unit: 'MB/s', better: 'higher' },
    ],
    run: (client, url) => runObj(client, url),
  },
];

const group: BenchGroup = { name: 'obj', cases };
export default group;
