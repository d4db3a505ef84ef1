import type { NatsConnection as NatsJsConnection } from '@nats-io/transport-node';
import type { BenchCase, BenchGroup, ClientKind, Figures } from '../types.js';
import { RSS_SAMPLE_MASK, now, percentile, rate, sampleRss, within } from '../measure.js';

// Each client is imported only inside the worker that measures it, so neither one's code
// weighs on the other's RSS.
const loadOurs = () => import('../../lib/core/index.js');
const loadNatsJs = () => import('@nats-io/transport-node');

/** Opens a nats.js connection to `url`: over TCP here; bench/cases/websocket.ts uses `wsconnect`. */
export type NatsJsConnector = (url: string) => Promise<NatsJsConnection>;
const natsJsOverTcp: NatsJsConnector = async (url) =>
  (await loadNatsJs()).connect({ servers: url });

const PUB_SUBJECT = 'bench.pub';
const REQ_SUBJECT = 'bench.req';
// How long any one phase may take before the case is declared stuck (e.g. messages were lost).
const PHASE_TIMEOUT = 120_000;
const REQUEST_TIMEOUT = 10_000;
const WARMUP_REQUESTS = 1000;

// ---- publish only -------------------------------------------------------------------------

export async function publishOnly(
  client: ClientKind,
  url: string,
  count: number,
  size: number,
  connectNatsJs = natsJsOverTcp,
) {
  const payload = new Uint8Array(size).fill(0x61);
  let start: number;
  if (client === 'ours') {
    const { connect } = await loadOurs();
    const nc = await connect({ servers: url });
    start = now();
    for (let i = 0; i < count; i++) {
      const p = nc.publish(PUB_SUBJECT, payload);
      if (p) await p;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
    }
    sampleRss();
    await nc.flush();
    const msgsPerSec = rate(count, start);
    await nc.close();
    return { rate: msgsPerSec };
  }
  const nc = await connectNatsJs(url);
  start = now();
  for (let i = 0; i < count; i++) {
    nc.publish(PUB_SUBJECT, payload);
    if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
  }
  sampleRss();
  await nc.flush();
  const msgsPerSec = rate(count, start);
  await nc.close();
  return { rate: msgsPerSec };
}

// ---- publish -> subscribe -----------------------------------------------------------------

/** A counter that resolves `done` once `target` messages were counted. */
function counter(target: number) {
  let resolve!: () => void;
  const state = {
    received: 0,
    done: new Promise<void>((r) => (resolve = r)),
    // An arrow: the subscriber takes `seen.count` on its own as its per-message callback.
    count: (): void => {
      const n = ++state.received;
      if ((n & RSS_SAMPLE_MASK) === 0) sampleRss();
      if (n === target) resolve();
    },
  };
  return state;
}

/** How the subscriber of a pub→sub case reads: a callback, or `for await` over the subscription. */
type SubscriberMode = 'callback' | 'iterator';

async function pubSub(
  client: ClientKind,
  url: string,
  count: number,
  size: number,
  mode: SubscriberMode = 'callback',
) {
  const payload = new Uint8Array(size).fill(0x61);
  const seen = counter(count);
  const describe = () => `${seen.received} of ${count} messages arrived`;
  if (client === 'ours') {
    const { connect } = await loadOurs();
    const sub = await connect({ servers: url });
    const pub = await connect({ servers: url });
    if (mode === 'callback') sub.subscribe(PUB_SUBJECT, { callback: () => seen.count() });
    else void readAll(sub.subscribe(PUB_SUBJECT), count, seen.count);
    await sub.flush();
    const start = now();
    for (let i = 0; i < count; i++) {
      const p = pub.publish(PUB_SUBJECT, payload);
      if (p) await p;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
    }
    await within(seen.done, PHASE_TIMEOUT, describe);
    const msgsPerSec = rate(count, start);
    sampleRss();
    await Promise.all([pub.close(), sub.close()]);
    return { rate: msgsPerSec };
  }
  const { connect } = await loadNatsJs();
  const sub = await connect({ servers: url });
  const pub = await connect({ servers: url });
  if (mode === 'callback') {
    sub.subscribe(PUB_SUBJECT, {
      callback: (err) => {
        if (err === null) seen.count();
      },
    });
  } else void readAll(sub.subscribe(PUB_SUBJECT), count, seen.count);
  await sub.flush();
  const start = now();
  for (let i = 0; i < count; i++) {
    pub.publish(PUB_SUBJECT, payload);
    if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
  }
  await within(seen.done, PHASE_TIMEOUT, describe);
  const msgsPerSec = rate(count, start);
  sampleRss();
  await Promise.all([pub.close(), sub.close()]);
  return { rate: msgsPerSec };
}

/** Reads `count` messages with `for await`, counting each (the same loop for both clients). */
async function readAll(messages: AsyncIterable<unknown>, count: number, onMsg: () => void) {
  let n = 0;
  for await (const _ of messages) {
    onMsg();
    if (++n === count) break;
  }
}

// ---- request / reply ----------------------------------------------------------------------

/** What a request case does once both connections are up; `request` sends one request. */
type RequestWorkload = (request: () => Promise<unknown>) => Promise<Figures>;

export async function withResponder(
  client: ClientKind,
  url: string,
  size: number,
  workload: RequestWorkload,
  connectNatsJs = natsJsOverTcp,
): Promise<Figures> {
  const payload = new Uint8Array(size).fill(0x61);
  if (client === 'ours') {
    const { connect } = await loadOurs();
    const responder = await connect({ servers: url });
    const requester = await connect({ servers: url });
    responder.subscribe(REQ_SUBJECT, { callback: (m) => m.respond(payload) });
    await responder.flush();
    const opts = { timeout: REQUEST_TIMEOUT };
    const figures = await workload(() => requester.request(REQ_SUBJECT, payload, opts));
    await Promise.all([requester.close(), responder.close()]);
    return figures;
  }
  const responder = await connectNatsJs(url);
  const requester = await connectNatsJs(url);
  responder.subscribe(REQ_SUBJECT, {
    callback: (err, m) => {
      if (err === null) m.respond(payload);
    },
  });
  await responder.flush();
  const opts = { timeout: REQUEST_TIMEOUT };
  const figures = await workload(() => requester.request(REQ_SUBJECT, payload, opts));
  await Promise.all([requester.close(), responder.close()]);
  return figures;
}

function sequential(count: number): RequestWorkload {
  return async (request) => {
    for (let i = 0; i < WARMUP_REQUESTS; i++) await request();
    const micros = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t0 = now();
      await request();
      micros[i] = (now() - t0) * 1000;
      if ((i & RSS_SAMPLE_MASK) === 0) sampleRss();
    }
    sampleRss();
    return { p50: percentile(micros, 50), p99: percentile(micros, 99) };
  };
}

export function inFlight(count: number, window: number): RequestWorkload {
  return async (request) => {
    for (let i = 0; i < WARMUP_REQUESTS; i++) await request();
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < count) {
        if ((started++ & RSS_SAMPLE_MASK) === 0) sampleRss();
        await request();
      }
    };
    const start = now();
    await Promise.all(Array.from({ length: window }, lane));
    const msgsPerSec = rate(count, start);
    sampleRss();
    return { rate: msgsPerSec };
  };
}

// ---- the group ----------------------------------------------------------------------------

const cases: BenchCase[] = [
  {
    id: 'pub-16',
    description:
      '1,000,000 publishes of 16 B in a tight loop, then flush. Ours awaits the promise ' +
      'publish() returns under backpressure; nats.js has no backpressure and buffers.',
    metrics: [
      {
        key: 'rate',
        label: 'publish 16 B',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 3, maxRssMb: 100 },
      },
    ],
    run: (client, url) => publishOnly(client, url, 1_000_000, 16),
  },
  {
    id: 'pub-128',
    description: 'As pub-16 with 128 B payloads.',
    metrics: [{ key: 'rate', label: 'publish 128 B', unit: 'msgs/s', better: 'higher' }],
    run: (client, url) => publishOnly(client, url, 1_000_000, 128),
  },
  {
    id: 'pubsub-128',
    description:
      '500,000 × 128 B from one connection to a callback subscription on another, timed ' +
      'from the first publish until the subscriber counted the last message.',
    metrics: [
      {
        key: 'rate',
        label: 'pub→sub 128 B',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 2 },
      },
    ],
    run: (client, url) => pubSub(client, url, 500_000, 128),
  },
  {
    id: 'pubsub-128-iter',
    description:
      'The same 500,000 × 128 B, read by the subscriber with `for await` over the subscription ' +
      'instead of a callback.',
    metrics: [
      {
        key: 'rate',
        label: 'pub→sub 128 B, for await',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 2 },
      },
    ],
    run: (client, url) => pubSub(client, url, 500_000, 128, 'iterator'),
  },
  {
    id: 'req-seq',
    description:
      '20,000 requests of 128 B one after another (after 1,000 warm-up requests) to a ' +
      'responder on a second connection of the same client; latency per request.',
    metrics: [
      {
        key: 'p50',
        label: 'request latency p50',
        unit: 'µs',
        better: 'lower',
        target: { ratio: 0.8 },
      },
      { key: 'p99', label: 'request latency p99', unit: 'µs', better: 'lower' },
    ],
    run: (client, url) => withResponder(client, url, 128, sequential(20_000)),
  },
  {
    id: 'req-100',
    description:
      '200,000 requests of 128 B with 100 in flight (100 loops each awaiting its request), ' +
      'same responder set-up.',
    metrics: [
      {
        key: 'rate',
        label: 'requests, 100 in flight',
        unit: 'msgs/s',
        better: 'higher',
        target: { ratio: 3 },
      },
    ],
    run: (client, url) => withResponder(client, url, 128, inFlight(200_000, 100)),
  },
];

const group: BenchGroup = { name: 'core', cases };
export default group;
