import type { BenchCase, BenchGroup, ClientKind, Figures, MetricSpec } from '../types.js';
import { withJetStream, type JetStreamServer } from '../jetstream-server.js';
import { RSS_SAMPLE_MASK, now, percentile, rate, sampleRss, within } from '../measure.js';

// JetStream publish and pull consume, ours (lib/jetstream) against nats.js (@nats-io/jetstream).
// Every run works on a fresh file-storage stream (deleted at the end) on a JetStream server:
// the runner's, or a private one the worker starts when the runner's has no JetStream.

const PAYLOAD_SIZE = 128;
/** The priority group of the pinned consume case. */
const PIN_GROUP = 'bench';

/** How a consume case reads: tuned, at the client's defaults, or pinned in a priority group. */
type ConsumeMode = 'tuned' | 'defaults' | 'pinned';
const SEQ_COUNT = 10_000;
const WINDOW_COUNT = 100_000;
const WINDOW = 256;
const CONSUME_COUNT = 100_000;
// Messages each client's consume() keeps buffered/pulled ahead (`maxMessages`/`max_messages`).
const CONSUME_MAX = 256;
const WARMUP = 500;
const PHASE_TIMEOUT = 120_000;
const API_TIMEOUT = 10_000;

/**
 * What a case needs of a client, written once per client with its own API. Only `consumeAll`
 * holds a per-message loop; publishing goes through `publish` one message at a time.
 */
interface JsDriver {
  addStream(name: string, subject: string): Promise<void>;
  deleteStream(name: string): Promise<void>;
  /** One JetStream publish, resolving on the PubAck. */
  publish(subject: string, payload: Uint8Array): Promise<unknown>;
  /** `pinned`: the durable has a `pinned_client` priority group named `PIN_GROUP`. */
  addDurable(stream: string, durable: string, pinned: boolean): Promise<void>;
  /** Unacknowledged plus undelivered messages of the durable, as the server counts them. */
  outstanding(stream: string, durable: string): Promise<number>;
  /**
   * Consumes continuously, acking each message, until `count` were acked; then stops. 'tuned'
   * pulls `CONSUME_MAX` ahead and iterates; otherwise consume() runs at the client's defaults
   * with a callback, as most applications use it ('pinned': pulling as a member of `PIN_GROUP`).
   */
  consumeAll(
    stream: string,
    durable: string,
    count: number,
    mode: ConsumeMode,
    onMsg: () => void,
  ): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

async function ourDriver(url: string): Promise<JsDriver> {
  const { connect } = await import('../../lib/core/index.js');
  const { jetstream, jetstreamManager } = await import('../../lib/jetstream/index.js');
  const nc = await connect({ servers: url });
  const js = jetstream(nc, { timeout: API_TIMEOUT });
  const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT });
  return {
    addStream: async (name, subject) => {
      await jsm.streams.add({ name, subjects: [subject], storage: 'file' });
    },
    deleteStream: async (name) => {
      await jsm.streams.delete(name);
    },
    publish: (subject, payload) => js.publish(subject, payload),
    addDurable: async (stream, durable, pinned) => {
      await jsm.consumers.add(stream, {
        durableName: durable,
        ackPolicy: 'explicit',
        ...(pinned && { priorityGroups: [PIN_GROUP], priorityPolicy: 'pinned_client' }),
      });
    },
    outstanding: async (stream, durable) => {
      const info = await jsm.consumers.info(stream, durable);
      return info.numAckPending + info.numPending;
    },
    consumeAll: async (stream, durable, count, mode, onMsg) => {
      const consumer = await js.consumers.get(stream, durable);
      if (mode !== 'tuned') {
        let acked = 0;
        let done!: () => void;
        const finished = new Promise<void>((r) => (done = r));
        const messages = consumer.consume({
          ...(mode === 'pinned' && { group: PIN_GROUP }),
          callback: (m) => {
            m.ack();
            onMsg();
            if (++acked === count) done();
          },
        });
        await finished;
        messages.stop();
        return;
      }
      const messages = consumer.consume({ maxMessages: CONSUME_MAX });
      let acked = 0;
      for await (const m of messages) {
        m.ack();
        onMsg();
        if (++acked === count) break;
      }
      messages.stop();
    },
    flush: () => nc.flush(),
    close: () => nc.close(),
  };
}

async function natsJsDriver(url: string): Promise<JsDriver> {
  const { connect } = await import('@nats-io/transport-node');
  const { AckPolicy, StorageType, jetstream, jetstreamManager } =
    await import('@nats-io/jetstream');
  const nc = await connect({ servers: url });
  const js = jetstream(nc, { timeout: API_TIMEOUT });
  const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT });
  return {
    addStream: async (name, subject) => {
      await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File });
    },
    deleteStream: async (name) => {
      await jsm.streams.delete(name);
    },
    publish: (subject, payload) => js.publish(subject, payload),
    addDurable: async (stream, durable, pinned) => {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ...(pinned && {
          priority_groups: [PIN_GROUP],
          priority_policy: 'pinned_client' as const,
        }),
      });
    },
    outstanding: async (stream, durable) => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_ack_pending + info.num_pending;
    },
    consumeAll: async (stream, durable, count, mode, onMsg) => {
      const consumer = await js.consumers.get(stream, durable);
      if (mode !== 'tuned') {
        let acked = 0;
        let done!: () => void;
        const finished = new Promise<void>((r) => (done = r));
        const messages = await consumer.consume({
          ...(mode === 'pinned' && { group: PIN_GROUP }),
          callback: (m) => {
            m.ack();
            onMsg();
            if (++acked === count) done();
          },
        });
        await finished;
        messages.stop();
        return;
      }
      const messages = await consumer.consume({ max_messages: CONSUME_MAX });
      let acked = 0;
      for await (const m of messages) {
        m.ack();
        onMsg();
        if (++acked === count) break;
      }
      messages.stop();
    },
    flush: () => nc.flush(),
    close: () => nc.close(),
  };
}

/** A fresh stream for one run, on a JetStream server; the stream is deleted afterwards. */
async function withStream(
  client: ClientKind,
  url: string,
  id: string,
  work: (d: JsDriver, stream: string, subject: string, server: JetStreamServer) => Promise<Figures>,
): Promise<Figures> {
  return withJetStream(url, async (server) => {
    const jsUrl = server.url;
    const d = client === 'ours' ? await ourDriver(jsUrl) : await natsJsDriver(jsUrl);
    const tag = `${id.replace(/-/g, '_')}_${client}_${process.pid}_${Date.now()}`;
    const stream = `BENCH_${tag}`;
    const subject = `bench.js.${tag}`;
    try {
      await d.addStream(stream, subject);
      const figures = await work(d, stream, subject, server);
      await d.deleteStream(stream);
      return figures;
    } finally {
      await d.close();
    }
  });
}

/** Publishes `count` messages with `window` publishes awaiting their PubAck at any time. */
async function publishWindowed(
  d: JsDriver,
  subject: string,
  payload: Uint8Array,
  count: number,
  window: number,
): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      if ((started++ & RSS_SAMPLE_MASK) === 0) sampleRss();
      await d.publish(subject, payload);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

// ---- the cases ----------------------------------------------------------------------------

function sequentialPublish(client: ClientKind, url: string): Promise<Figures> {
  return withStream(client, url, 'js-pub-seq', async (d, _stream, subject) => {
    const payload = new Uint8Array(PAYLOAD_SIZE).fill(0x61);
    for (let i = 0; i < WARMUP; i++) await d.publish(subject, payload);
    const micros = new Float64Array(SEQ_COUNT);
    const start = now();
    for (let i = 0; i < SEQ_COUNT; i++) {
      const t0 = now();
      await d.publish(subject, payload);
      micros[i] = (now() - t0) * 1000;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
    }
    const msgsPerSec = rate(SEQ_COUNT, start);
    sampleRss();
    return { p50: percentile(micros, 50), p99: percentile(micros, 99), rate: msgsPerSec };
  });
}

function windowedPublish(client: ClientKind, url: string): Promise<Figures> {
  return withStream(client, url, 'js-pub-256', async (d, _stream, subject) => {
    const payload = new Uint8Array(PAYLOAD_SIZE).fill(0x61);
    await publishWindowed(d, subject, payload, WARMUP, WINDOW);
    const start = now();
    await within(
      publishWindowed(d, subject, payload, WINDOW_COUNT, WINDOW),
      PHASE_TIMEOUT,
      () => 'windowed publish',
    );
    const msgsPerSec = rate(WINDOW_COUNT, start);
    sampleRss();
    return { rate: msgsPerSec };
  });
}

function consumeAck(client: ClientKind, url: string, mode: ConsumeMode): Promise<Figures> {
  const id = mode === 'tuned' ? 'js-consume' : `js-consume-${mode}`;
  return withStream(client, url, id, async (d, stream, subject, server) => {
    // Prefill (not timed) with the same client's windowed publish.
    const payload = new Uint8Array(PAYLOAD_SIZE).fill(0x61);
    await publishWindowed(d, subject, payload, CONSUME_COUNT, WINDOW);
    await d.addDurable(stream, 'bench', mode === 'pinned');
    let seen = 0;
    const onMsg = (): void => {
      if ((++seen & RSS_SAMPLE_MASK) === 0) sampleRss();
    };
    const serverCpuBefore = server.cpuMs();
    const start = now();
    await within(
      d.consumeAll(stream, 'bench', CONSUME_COUNT, mode, onMsg),
      PHASE_TIMEOUT,
      () => `${seen} of ${CONSUME_COUNT} messages consumed`,
    );
    await d.flush(); // every ack is on the server
    const msgsPerSec = rate(CONSUME_COUNT, start);
    const serverCpuAfter = server.cpuMs();
    sampleRss();
    // Check the books: the server saw every message delivered and acknowledged.
    let left = await d.outstanding(stream, 'bench');
    for (let i = 0; left > 0 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await d.outstanding(stream, 'bench');
    }
    if (left > 0) throw new Error(`${left} messages not acknowledged after consuming`);
    const figures: Figures = { rate: msgsPerSec };
    if (serverCpuBefore !== undefined && serverCpuAfter !== undefined)
      figures.serverCpu = ((serverCpuAfter - serverCpuBefore) * 1000) / CONSUME_COUNT;
    return figures;
  });
}

/** nats-server's CPU time per consumed message: what each client's pulls and acks cost it. */
const SERVER_CPU_METRIC: MetricSpec = {
  key: 'serverCpu',
  label: 'nats-server CPU per message',
  unit: 'µs',
  better: 'lower',
};

/** The figures of a consume case: its rate (with the target ratio, if any) and the server's CPU. */
function consumeMetrics(label: string, targetRatio?: number): MetricSpec[] {
  const rate: MetricSpec = { key: 'rate', label, unit: 'msgs/s', better: 'higher' };
  if (targetRatio !== undefined) rate.target = { ratio: targetRatio };
  return [rate, SERVER_CPU_METRIC];
}

const cases: BenchCase[] = [
  {
    id: 'js-pub-seq',
    description:
      `${SEQ_COUNT.toLocaleString('en')} JetStream publishes of ${PAYLOAD_SIZE} B to a ` +
      `file-storage stream, each awaiting its PubAck before the next (after ${WARMUP} ` +
      'warm-up publishes); latency per publish.',
    metrics: [
      {
        key: 'p50',
        label: 'JS publish latency p50',
        unit: 'µs',
        better: 'lower',
        target: { ratio: 0.8 },
      },
      { key: 'p99', label: 'JS publish latency p99', unit: 'µs', better: 'lower' },
      { key: 'rate', label: 'JS publish sequential', unit: 'msgs/s', better: 'higher' },
    ],
    run: sequentialPublish,
  },
  {
    id: 'js-pub-256',
    description:
      `${WINDOW_COUNT.toLocaleString('en')} JetStream publishes of ${PAYLOAD_SIZE} B to a ` +
      `file-storage stream with ${WINDOW} in flight (${WINDOW} loops each awaiting its ` +
      'PubAck), after a warm-up.',
    metrics: [
      {
        key: 'rate',
        label: `JS publish, ${WINDOW} in flight`,
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 1.5 },
      },
    ],
    run: windowedPublish,
  },
  {
    id: 'js-consume',
    description:
      `${CONSUME_COUNT.toLocaleString('en')} prefilled ${PAYLOAD_SIZE} B messages read by a ` +
      `durable pull consumer with each client's continuous consume() (${CONSUME_MAX} ` +
      'messages pulled ahead), every one acked explicitly; timed until the last ack is flushed ' +
      'to the server, then checked with consumer info (nothing pending or unacked).',
    metrics: consumeMetrics('JS consume + ack', 1.5),
    run: (client, url) => consumeAck(client, url, 'tuned'),
  },
  {
    id: 'js-consume-defaults',
    description:
      `The same ${CONSUME_COUNT.toLocaleString('en')} messages read with each client's ` +
      'consume() at its default options and a callback that acks each one (how most ' +
      'applications consume); timed and checked the same way.',
    metrics: consumeMetrics('JS consume + ack, defaults', 1.5),
    run: (client, url) => consumeAck(client, url, 'defaults'),
  },
  {
    id: 'js-consume-pinned',
    minServer: '2.11.0',
    description:
      `The defaults case on a durable with a \`pinned_client\` priority group, consumed as a ` +
      'member of the group (the pin id sent with every pull): what pinning costs against the ' +
      'unpinned row above.',
    metrics: consumeMetrics('JS consume + ack, pinned'),
    run: (client, url) => consumeAck(client, url, 'pinned'),
  },
];

const group: BenchGroup = { name: 'jetstream', cases };
export default group;
