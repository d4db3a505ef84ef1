// "409 Leadership Change": when an R3 consumer's leader steps down, the cluster ends the pulls
// the old leader held with that status. It is no error of the user's: fetch() and next() resolve
// early with what they have (the caller pulls again), and consume() re-pulls from the new leader
// and goes on delivering every message. The status never reaches user code as a message.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JetStreamApiError,
  NoRespondersError,
  TimeoutError,
  connect,
  type NatsConnection,
  type NatsError,
} from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '../../lib/jetstream/index.js';
import { startCluster, stopAllServers } from '../support/index.js';

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
// For polling consumer info: a call that reaches the consumer mid-election goes unanswered, and
// asking again after 1 s beats waiting out the default 5 s.
let quick: JetStreamManager;
const errors: NatsError[] = [];
let streams = 0;

beforeAll(async () => {
  const cluster = await startCluster(3, { jetstream: true });
  nc = await connect({ servers: cluster.urls, onError: (e) => void errors.push(e) });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  quick = await jetstreamManager(nc, { timeout: 1000 });
}, 60_000);

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await stopAllServers();
});

beforeEach(() => void errors.splice(0));

/** A new R3 stream on `<subj>.>` with an R3 durable `c`. */
async function setup(ackWait = 30_000): Promise<{ stream: string; subj: string }> {
  const stream = `LC${++streams}`;
  const subj = `lc${streams}`;
  // A loaded machine may still be forming the JetStream cluster ("no suitable peers for
  // placement, peer offline"): ask again until every peer is up.
  for (const end = Date.now() + 30_000; ;) {
    try {
      await jsm.streams.add({ name: stream, subjects: [`${subj}.>`], numReplicas: 3 });
      break;
    } catch (err) {
      const forming = err instanceof JetStreamApiError && /no suitable peers/.test(err.message);
      if (!(forming || transient(err)) || Date.now() > end) throw err;
      await sleep(500);
    }
  }
  await jsm.consumers.add(stream, { durableName: 'c', ackPolicy: 'explicit', ackWait });
  return { stream, subj };
}

/** Errors while the cluster elects a leader: ask again. */
const transient = (err: unknown): boolean =>
  err instanceof TimeoutError ||
  err instanceof NoRespondersError ||
  (err instanceof JetStreamApiError && err.status === 503);

/** Runs `op` until it yields something (not undefined or false), retrying transient errors. */
async function eventually<T>(
  op: () => Promise<T | undefined | false>,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const r = await op();
      if (r !== undefined && r !== false) return r;
    } catch (err) {
      if (!transient(err)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The server leading the durable, as its info reports (the typed info leaves `cluster` out). */
async function consumerLeader(stream: string): Promise<string> {
  const info = (await quick.consumers.info(stream, 'c')) as { cluster?: { leader?: string } };
  return info.cluster?.leader ?? '';
}

/** Moves the durable's leadership to another server and waits until one has taken over. */
async function stepDown(stream: string): Promise<void> {
  const before = await eventually(() => consumerLeader(stream), 'a consumer leader');
  await eventually(() => quick.api.request(`CONSUMER.LEADER.STEPDOWN.${stream}.c`), 'a step-down');
  await eventually(async () => {
    const now = await consumerLeader(stream);
    return now !== '' && now !== before;
  }, 'a new consumer leader');
}

/** Waits until the number of pulls the consumer leader holds for the durable passes `check`. */
const waitingPulls = (stream: string, check: (n: number) => boolean): Promise<boolean> =>
  eventually(
    async () => check((await quick.consumers.info(stream, 'c')).numWaiting),
    'waiting pulls',
  );

/** Publishes `<from>`…`<to - 1>` to `<subj>.m`, one at a time, `pause` ms apart. */
async function publish(subj: string, from: number, to: number, pause = 0): Promise<void> {
  for (let i = from; i < to; i++) {
    await eventually(() => js.publish(`${subj}.m`, `${i}`), 'a publish');
    if (pause > 0) await sleep(pause);
  }
}

describe('409 Leadership Change', () => {
  it('ends a pending fetch() early with the messages it already had', async () => {
    const { stream, subj } = await setup();
    const c = await js.consumers.get(stream, 'c');
    await js.publish(`${subj}.m`, '0');
    await js.publish(`${subj}.m`, '1');
    const began = Date.now();
    // Two of five arrive at once; the pull keeps waiting for the rest until the step-down.
    const pending = c.fetch(5, { timeout: 20_000 });
    await waitingPulls(stream, (n) => n === 1);
    await stepDown(stream);
    const got = await pending;
    expect(got.map((m) => m.string())).toEqual(['0', '1']);
    expect(Date.now() - began).toBeLessThan(15_000); // not its 20 s expiry
    expect(errors).toEqual([]);
    for (const m of got) m.ack();

    // The caller simply pulls again and reads from the new leader.
    await js.publish(`${subj}.m`, '2');
    const next = await eventually(async () => {
      const batch = await c.fetch(1, { timeout: 2000 });
      return batch.length > 0 ? batch : undefined;
    }, 'a fetch from the new leader');
    expect(next.map((m) => m.string())).toEqual(['2']);
  }, 60_000);

  it('next() pending during a step-down resolves null early', async () => {
    const { stream } = await setup();
    const c = await js.consumers.get(stream, 'c');
    const began = Date.now();
    const pending = c.next({ timeout: 20_000 });
    await waitingPulls(stream, (n) => n === 1);
    await stepDown(stream);
    expect(await pending).toBeNull();
    expect(Date.now() - began).toBeLessThan(15_000);
  }, 60_000);

  // The cluster remembers waiting pulls by reply subject and forgets one when a pull on it
  // completes. Here a pull still waits after an earlier pull of the same consume() completed:
  // were the reply subject shared by both, the step-down would drop the waiting pull silently and
  // consume() would wait for it until the heartbeat monitor gave up on it (30 s and more).
  it('consume() replaces a pull ended by a step-down after another pull of it completed', async () => {
    const { stream, subj } = await setup();
    const c = await js.consumers.get(stream, 'c');
    // consume() pulls again when outstanding plus buffered falls to half of maxMessages (10).
    const cm = c.consume({ maxMessages: 20 });
    const reader = cm[Symbol.asyncIterator]();
    const read = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(((await reader.next()).value as JsMsg).string());
      return out;
    };
    const buffered = (n: number): Promise<boolean> =>
      eventually(async () => cm.buffered === n, `${n} buffered messages`);
    try {
      await publish(subj, 0, 20); // fills the first pull (20)
      await buffered(20);
      await read(10); // 10 buffered: pull A (10)
      await publish(subj, 20, 25); // A has 5 to go: 15 buffered + 5 outstanding
      await buffered(15);
      await read(10); // 5 buffered + 5 outstanding: pull B (10)
      await waitingPulls(stream, (n) => n === 2);
      await publish(subj, 25, 35); // A completes, B has 5 to go: 15 buffered + 5 outstanding
      await buffered(15);
      await waitingPulls(stream, (n) => n === 1);
      await stepDown(stream); // ends B
      await read(5); // 10 buffered and nothing outstanding any more: a pull to the new leader
      await publish(subj, 35, 40);
      await buffered(15);
      expect(await read(15)).toEqual([...Array(15).keys()].map((i) => `${i + 25}`));
    } finally {
      cm.stop();
    }
    expect(cm.missedHeartbeats).toBe(0);
    expect(errors).toEqual([]);
  }, 120_000);

  it('consume() delivers every message when the leader steps down while they flow', async () => {
    const TOTAL = 300;
    // A short ack wait: an ack lost in a step-down comes back soon as a redelivery.
    const { stream, subj } = await setup(3000);
    const c = await js.consumers.get(stream, 'c');
    const seen = new Map<number, number>();
    const odd: JsMsg[] = [];
    // Short heartbeats: a pull the old leader had not yet shared with its followers is lost
    // without a 409, and the heartbeat monitor must notice that soon.
    const cm = c.consume({
      maxMessages: 20,
      expires: 6000,
      callback: (m) => {
        const n = Number(m.string());
        if (!Number.isInteger(n) || m.subject !== `${subj}.m`) odd.push(m);
        seen.set(n, (seen.get(n) ?? 0) + 1);
        m.ack();
      },
    });
    try {
      const flowing = publish(subj, 0, TOTAL, 10);
      for (const target of [50, 125, 200]) {
        await eventually(async () => seen.size >= target, `${target} messages consumed`);
        await stepDown(stream);
      }
      await flowing;
      await eventually(async () => seen.size >= TOTAL, `all ${TOTAL} messages consumed`);
      // Every ack reached the consumer: nothing is left pending or unacknowledged.
      await eventually(async () => {
        const info = await quick.consumers.info(stream, 'c');
        return info.numPending + info.numAckPending === 0;
      }, 'every message acknowledged');
    } finally {
      cm.stop();
    }
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...Array(TOTAL).keys()]);
    expect(odd).toEqual([]);
    expect(await cm.closed).toBeUndefined();
    expect(errors).toEqual([]);
  }, 120_000);
});
