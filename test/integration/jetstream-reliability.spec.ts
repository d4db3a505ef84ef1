// At-least-once delivery through crashes: a publisher that retries with message ids and an
// acking consumer keep running while the JetStream server (or, in a cluster, the stream
// leader's server) is SIGKILLed and restarted. Every acknowledged publish must be consumed, and
// the stream must hold each message id exactly once.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionError,
  JetStreamApiError,
  NoRespondersError,
  TimeoutError,
  connect,
  type ConnectOptions,
  type NatsConnection,
} from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '../../lib/jetstream/index.js';
import {
  startCluster,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';

const SUBJECT = 'rel.orders';
const DURABLE = 'worker';
// Messages acknowledged between faults, so every fault hits a publisher and consumer at work.
const BETWEEN_FAULTS = 300;
// How long one message may take to get its PubAck through all retries before the test gives up.
const PUBLISH_DEADLINE = 30_000;

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => undefined)));
  await stopAllServers();
});

async function client(servers: string | string[]): Promise<NatsConnection> {
  const opts: ConnectOptions = {
    servers,
    reconnectTimeWait: 100,
    reconnectJitter: 50,
    maxReconnectAttempts: -1,
  };
  const nc = await connect(opts);
  open.push(nc);
  return nc;
}

async function waitUntil(cond: () => boolean, what: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(20);
  }
}

/** Errors a publisher retries: the outcome is unknown, or the stream cannot answer right now. */
function transient(err: unknown): boolean {
  if (err instanceof TimeoutError || err instanceof ConnectionError) return true;
  // No responders: the server is up but JetStream (or the stream) is not yet.
  if (err instanceof NoRespondersError) return true;
  // 503: e.g. "JetStream system temporarily unavailable" while a cluster elects leaders.
  return err instanceof JetStreamApiError && err.status === 503;
}

/**
 * Publishes `m-0`, `m-1`… one at a time, each with its id as `Nats-Msg-Id`, retrying each one
 * until it gets a PubAck (the user's job for at-least-once). Stops after `stop()`.
 */
class Publisher {
  /** msgId → stream sequence of every acknowledged message. */
  readonly acked = new Map<string, number>();
  /** PubAcks with `duplicate: true`: an earlier attempt had been stored after all. */
  duplicateAcks = 0;
  /** Failed attempts by error class. */
  readonly failures = new Map<string, number>();
  /** The id being published right now. */
  current = '';
  readonly done: Promise<void>;
  private stopping = false;

  constructor(private readonly js: JetStreamClient) {
    this.done = this.run();
  }

  get count(): number {
    return this.acked.size;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** Publishes `id` until it is acknowledged, without recording it. */
  async publish(id: string): Promise<PubAck> {
    const deadline = Date.now() + PUBLISH_DEADLINE;
    for (;;) {
      try {
        return await this.js.publish(SUBJECT, `order ${id}`, {
          msgId: id,
          timeout: 1000,
          retries: 0,
        });
      } catch (err) {
        if (!transient(err) || Date.now() > deadline) throw err;
        const name = (err as Error).constructor.name;
        this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
        await sleep(50);
      }
    }
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopping; i++) {
      this.current = `m-${i}`;
      const ack = await this.publish(this.current);
      if (ack.duplicate) this.duplicateAcks++;
      this.acked.set(this.current, ack.seq);
    }
  }
}

/** Reads the durable with `consume()`, acking every message, and counts deliveries per id. */
class Consumer {
  /** msgId → number of times it was delivered. */
  readonly deliveries = new Map<string, number>();
  delivered = 0;
  readonly done: Promise<void>;

  constructor(private readonly messages: ConsumerMessages) {
    this.done = this.run();
  }

  get unique(): number {
    return this.deliveries.size;
  }

  get missedHeartbeats(): number {
    return this.messages.missedHeartbeats;
  }

  stop(): Promise<void> {
    this.messages.stop();
    return this.done;
  }

  private async run(): Promise<void> {
    for await (const m of this.messages) {
      const id = m.headers?.get('Nats-Msg-Id');
      if (id === undefined) throw new Error(`message ${m.seq} has no Nats-Msg-Id`);
      this.delivered++;
      this.deliveries.set(id, (this.deliveries.get(id) ?? 0) + 1);
      m.ack();
    }
  }
}

interface Scenario {
  jsm: JetStreamManager;
  pub: Publisher;
  sub: Consumer;
  stream: string;
  /** Ids being published at the moment of each fault (the likeliest to be retried). */
  inFlightAtFault: string[];
}

async function begin(
  pubNc: NatsConnection,
  subNc: NatsConnection,
  stream: string,
  replicas: number,
): Promise<Scenario> {
  // An R3 stream's raft group elects its leader before the create answers: over 5 s under CI load.
  const jsm = await jetstreamManager(pubNc, { timeout: 15_000 });
  await jsm.streams.add({
    name: stream,
    subjects: ['rel.>'],
    storage: 'file',
    numReplicas: replicas,
    duplicateWindow: 120_000,
  });
  // A short ack wait, so deliveries whose ack a crash swallowed come back soon.
  await jsm.consumers.add(stream, { durableName: DURABLE, ackPolicy: 'explicit', ackWait: 2000 });
  const consumer = await jetstream(subNc).consumers.get(stream, DURABLE);
  // Short pulls with frequent heartbeats: a pull lost with a server is noticed within 2 s.
  const messages = consumer.consume({ maxMessages: 100, expires: 4000, idleHeartbeat: 1000 });
  const sub = new Consumer(messages);
  const pub = new Publisher(jetstream(pubNc));
  return { jsm, pub, sub, stream, inFlightAtFault: [] };
}

/** Waits until `BETWEEN_FAULTS` more messages were acknowledged by the stream and consumed. */
async function progress(s: Scenario, timeoutMs = 20_000): Promise<void> {
  const target = s.pub.count + BETWEEN_FAULTS;
  await Promise.race([
    waitUntil(
      () => s.pub.count >= target && s.sub.unique >= target - BETWEEN_FAULTS / 2,
      () => `progress to ${target}: ${stateOf(s)}`,
      timeoutMs,
    ),
    // Either loop failing ends the wait with its error.
    s.pub.done.then(() => never()),
    s.sub.done.then(() => never('consumer ended')),
  ]);
}

/** The state of both loops, for timeout messages. */
function stateOf(s: Scenario): string {
  const failures = [...s.pub.failures].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
  return (
    `${s.pub.count} published (now ${s.pub.current}; failed attempts: ${failures}), ` +
    `${s.sub.unique} ids consumed in ${s.sub.delivered} deliveries, ` +
    `${s.sub.missedHeartbeats} re-pulls after missed heartbeats`
  );
}

function never(reason?: string): Promise<never> {
  return reason ? Promise.reject(new Error(reason)) : new Promise<never>(() => undefined);
}

/** The consumer's unacknowledged plus undelivered messages, as the server counts them. */
async function outstanding(s: Scenario): Promise<number> {
  const ci = await s.jsm.consumers.info(s.stream, DURABLE);
  return ci.numAckPending + ci.numPending;
}

/** Stops both loops once everything published was consumed and acked, then checks the books. */
async function finish(s: Scenario): Promise<void> {
  await s.pub.stop();
  const published = s.pub.count;
  const consumerEnded = s.sub.done.then(() => never('consumer ended'));
  await Promise.race([
    waitUntil(
      () => s.sub.unique >= published,
      () => `the consumer to catch up: ${stateOf(s)}`,
      20_000,
    ),
    consumerEnded,
  ]);
  // Deliveries whose ack a crash swallowed come back after the ack wait: keep consuming until
  // the server has every delivery acknowledged.
  let left = await outstanding(s);
  const deadline = Date.now() + 10_000;
  while (left > 0 && Date.now() < deadline) {
    await Promise.race([sleep(100), consumerEnded]);
    left = await outstanding(s);
  }
  expect(left).toBe(0);
  await s.sub.stop();

  // Every acknowledged message was consumed, and nothing else was.
  const consumed = [...s.sub.deliveries.keys()].sort();
  const acked = [...s.pub.acked.keys()].sort();
  expect(consumed).toEqual(acked);
  // The stream stored each id once: retries that reached it again were recognised by msgId.
  const info = await s.jsm.streams.info(s.stream);
  expect(info.state.messages).toBe(published);
  expect(info.state.lastSeq).toBe(published);
  expect(new Set(s.pub.acked.values()).size).toBe(published);
  // Publishing an acknowledged id again is a duplicate, answered with the original sequence.
  const again = [...new Set([...s.inFlightAtFault, 'm-0', `m-${published - 1}`])];
  for (const id of again) {
    const ack = await s.pub.publish(id);
    expect(ack).toMatchObject({ duplicate: true, seq: s.pub.acked.get(id) });
  }
  expect((await s.jsm.streams.info(s.stream)).state.messages).toBe(published);
  expect(await outstanding(s)).toBe(0);

  console.info(
    `${s.stream}: ${stateOf(s)}; ${s.sub.delivered - s.sub.unique} duplicate deliveries, ` +
      `${s.pub.duplicateAcks} duplicate PubAcks`,
  );
}

describe('JetStream at-least-once under faults', () => {
  it('survives two SIGKILL restarts of a file-storage server', async () => {
    const server = await startServer({ jetstream: true });
    const s = await begin(await client(server.url), await client(server.url), 'RELIABLE', 1);
    await progress(s);
    for (let fault = 0; fault < 2; fault++) {
      s.inFlightAtFault.push(s.pub.current);
      await server.kill('SIGKILL');
      await sleep(200);
      await server.restart(); // same port, same store dir
      await progress(s);
    }
    await finish(s);
  }, 45_000);

  // The other side of README's "delivery is at least once": after a crash, nats-server 2.9.10
  // may deliver confirmed acks again (it writes consumer state lazily); after a normal stop it
  // must not, so an ackSync() that resolved really reached the consumer's stored state.
  it('delivers nothing again after a graceful restart once ackSync() confirmed every ack', async () => {
    const server = await startServer({ jetstream: true });
    const nc = await client(server.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ACKED', subjects: ['acked.>'], storage: 'file' });
    await jsm.consumers.add('ACKED', { durableName: 'c', ackPolicy: 'explicit', ackWait: 30_000 });
    const js = jetstream(nc);
    for (let i = 0; i < 100; i++) await js.publish(`acked.${i}`, 'x');
    const consumer = await js.consumers.get('ACKED', 'c');
    let acked = 0;
    while (acked < 100) {
      for (const m of await consumer.fetch(25, { timeout: 2000 })) {
        await m.ackSync();
        acked++;
      }
    }
    await server.restart(); // SIGTERM: the server stores its state before it exits
    await waitUntil(
      () => nc.isConnected,
      () => 'the reconnect',
      10_000,
    );
    expect(await consumer.fetch(100, { timeout: 1000 })).toHaveLength(0);
    const info = await jsm.consumers.info('ACKED', 'c');
    expect(info.ackFloor.streamSeq).toBe(100);
    expect(info.numPending).toBe(0);
  }, 30_000);

  it("survives the loss of an R3 stream leader's server in a 3-node cluster", async () => {
    const cluster = await startCluster(3, { jetstream: true });
    const names = cluster.servers.map(serverName);
    // Each connection knows every server, so whichever it is on may die.
    const s = await begin(await client(cluster.urls), await client(cluster.urls), 'RELIABLE3', 3);
    await progress(s);
    // The hardest case: the consumer's leader lives on the same server and dies with it.
    const leader = await colocateLeaders(s.jsm, s.stream, names, cluster.servers);
    s.inFlightAtFault.push(s.pub.current);
    await leader.kill('SIGKILL');
    // The two survivors elect a new stream (and consumer) leader; work resumes on them.
    await progress(s);
    await leader.restart();
    await cluster.waitReady(20_000);
    await progress(s);
    await finish(s);
  }, 60_000);
});

/** The `server_name` in a member's config file. */
function serverName(server: NatsServerHandle): string {
  const m = /^server_name: "([^"]+)"$/m.exec(readFileSync(server.configFile, 'utf8'));
  if (!m) throw new Error(`no server_name in ${server.configFile}`);
  return m[1];
}

/** The `cluster` member of stream and consumer info (the consumer's is not typed). */
interface ClusterInfo {
  cluster?: { leader?: string };
}

/**
 * Moves the durable's leadership (step-downs elect a random peer) until it sits on the stream
 * leader's server, and returns that server.
 */
async function colocateLeaders(
  jsm: JetStreamManager,
  stream: string,
  names: string[],
  servers: NatsServerHandle[],
): Promise<NatsServerHandle> {
  const streamLeader = (await jsm.streams.info(stream)).cluster?.leader ?? '';
  const i = names.indexOf(streamLeader);
  if (i < 0) throw new Error(`stream ${stream} has no leader`);
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const info = (await jsm.consumers.info(stream, DURABLE)) as ClusterInfo;
      const leader = info.cluster?.leader;
      if (leader === streamLeader) return servers[i];
      if (leader !== undefined && leader !== '') {
        await jsm.api.request(`CONSUMER.LEADER.STEPDOWN.${stream}.${DURABLE}`);
      }
    } catch (err) {
      if (!transient(err)) throw err; // mid-election: ask again
    }
    await sleep(250);
  }
  throw new Error(`could not move the leader of ${DURABLE} to ${streamLeader}`);
}
