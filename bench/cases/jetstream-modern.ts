import type { BenchCase, BenchGroup, ClientKind, Figures } from '../types.js';
import { withJetStream } from '../jetstream-server.js';
import { now, rate, sampleRss } from '../measure.js';

// The JetStream features of nats-server 2.12+: atomic batch publish and counters, ours against
// nats.js (`startBatch`, and a plain publish with the `Nats-Incr` header: it has no counter API).

const PAYLOAD_SIZE = 128;
const BATCHES = 100;
const BATCH_SIZE = 100;
const INCREMENTS = 10_000;
const API_TIMEOUT = 10_000;

interface ModernDriver {
  /** Publishes `BATCH_SIZE` messages as one atomic batch; resolves on the commit's PubAck. */
  batch(subject: string, payload: Uint8Array): Promise<void>;
  /** Adds 1 to the counter on `subject`; resolves on the PubAck. */
  increment(subject: string): Promise<void>;
  close(): Promise<void>;
}

/** What the case's stream allows: atomic batches, or counters (a counter stream takes nothing else). */
type Feature = 'atomic' | 'counter';

async function ourDriver(
  url: string,
  stream: string,
  subjects: string,
  feature: Feature,
): Promise<ModernDriver> {
  const { connect } = await import('../../lib/core/index.js');
  const { jetstream, jetstreamManager } = await import('../../lib/jetstream/index.js');
  const nc = await connect({ servers: url });
  const js = jetstream(nc, { timeout: API_TIMEOUT });
  const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT });
  await jsm.streams.add({
    name: stream,
    subjects: [subjects],
    storage: 'file',
    ...(feature === 'atomic' ? { allowAtomic: true } : { allowMsgCounter: true }),
  });
  const counters = new Map<string, ReturnType<typeof js.counter>>();
  return {
    batch: async (subject, payload) => {
      const b = js.batch();
      for (let i = 0; i < BATCH_SIZE - 1; i++) void b.add(subject, payload);
      await b.commit(subject, payload);
    },
    increment: async (subject) => {
      let c = counters.get(subject);
      if (c === undefined) counters.set(subject, (c = js.counter(subject)));
      await c.increment(1);
    },
    close: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

async function natsJsDriver(
  url: string,
  stream: string,
  subjects: string,
  feature: Feature,
): Promise<ModernDriver> {
  const { connect, headers } = await import('@nats-io/transport-node');
  const { StorageType, jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  const js = jetstream(nc, { timeout: API_TIMEOUT });
  const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT });
  await jsm.streams.add({
    name: stream,
    subjects: [subjects],
    storage: StorageType.File,
    ...(feature === 'atomic' ? { allow_atomic: true } : { allow_msg_counter: true }),
  });
  return {
    batch: async (subject, payload) => {
      const b = await js.startBatch(subject, payload);
      for (let i = 0; i < BATCH_SIZE - 2; i++) b.add(subject, payload);
      await b.commit(subject, payload);
    },
    increment: async (subject) => {
      const h = headers();
      h.set('Nats-Incr', '+1');
      await js.publish(subject, undefined, { headers: h });
    },
    close: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

async function withDriver(
  client: ClientKind,
  url: string,
  id: string,
  feature: Feature,
  work: (d: ModernDriver, subject: string) => Promise<Figures>,
): Promise<Figures> {
  return withJetStream(url, async (server) => {
    const tag = `${id.replace(/-/g, '_')}_${client}_${process.pid}_${Date.now()}`;
    const open = client === 'ours' ? ourDriver : natsJsDriver;
    const d = await open(server.url, `BENCH_${tag}`, `bench.modern.${tag}.>`, feature);
    try {
      return await work(d, `bench.modern.${tag}.x`);
    } finally {
      await d.close();
    }
  });
}

const cases: BenchCase[] = [
  {
    id: 'js-batch',
    minServer: '2.12.0',
    description:
      `${BATCHES} atomic batches of ${BATCH_SIZE} × ${PAYLOAD_SIZE} B, one after another, each ` +
      "awaiting its commit's PubAck (ours: `js.batch()`, nats.js: `js.startBatch()`).",
    metrics: [{ key: 'rate', label: 'atomic batch publish', unit: 'msgs/s', better: 'higher' }],
    run: (client, url) =>
      withDriver(client, url, 'js-batch', 'atomic', async (d, subject) => {
        const payload = new Uint8Array(PAYLOAD_SIZE).fill(0x61);
        await d.batch(subject, payload); // warm-up
        const start = now();
        for (let i = 0; i < BATCHES; i++) await d.batch(subject, payload);
        const msgsPerSec = rate(BATCHES * BATCH_SIZE, start);
        sampleRss();
        return { rate: msgsPerSec };
      }),
  },
  {
    id: 'js-counter',
    minServer: '2.12.0',
    description:
      `${INCREMENTS.toLocaleString('en')} counter increments, one after another, each ` +
      'awaiting its PubAck (ours: `js.counter().increment()`, nats.js: a publish with ' +
      '`Nats-Incr: +1`).',
    metrics: [{ key: 'rate', label: 'counter increments', unit: 'msgs/s', better: 'higher' }],
    run: (client, url) =>
      withDriver(client, url, 'js-counter', 'counter', async (d, subject) => {
        for (let i = 0; i < 100; i++) await d.increment(subject); // warm-up
        const start = now();
        for (let i = 0; i < INCREMENTS; i++) await d.increment(subject);
        const perSec = rate(INCREMENTS, start);
        sampleRss();
        return { rate: perSec };
      }),
  },
];

const group: BenchGroup = { name: 'jetstream-modern', cases };
export default group;
