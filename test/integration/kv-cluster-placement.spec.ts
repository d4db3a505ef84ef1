// KV buckets on a 3-node JetStream cluster: `replicas` and `placement` (cluster name, server
// tags) reach the backing stream, the server honours them, a bucket keeps working with one
// follower down, and a placement nobody can satisfy fails with the server's reason.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionError,
  JetStreamApiError,
  NoRespondersError,
  TimeoutError,
  connect,
  type NatsConnection,
} from '../../lib/core/index.js';
import {
  jetstream,
  type JetStreamClient,
  type PeerInfo,
  type StreamInfo,
} from '../../lib/jetstream/index.js';
import { BucketNotFoundError } from '../../lib/kv/index.js';
import { startCluster, stopAllServers, type NatsCluster } from '../support/index.js';
import { bucketName, collect, rejection } from './kv-helpers.js';

// startCluster names its members s1, s2, s3 and puts them in cluster "test-cluster".
const NAMES = ['s1', 's2', 's3'];
const CLUSTER = 'test-cluster';
// Two "ssd" servers and one without: an R2 bucket on "ssd" has exactly one possible layout.
const TAGS = [['az:a', 'ssd'], ['az:b', 'ssd'], ['az:c']];

let cluster: NatsCluster;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  cluster = await startCluster(3, {
    jetstream: true,
    memberConfig: (i) => `server_tags: ${JSON.stringify(TAGS[i])}`,
  });
  nc = await connect({ servers: cluster.urls, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  js = jetstream(nc);
}, 60_000);

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await stopAllServers();
});

/** Where the stream's replicas live. */
function layout(info: StreamInfo): { name?: string; leader: string; followers: PeerInfo[] } {
  const c = info.cluster;
  return { name: c?.name, leader: c?.leader ?? '', followers: c?.replicas ?? [] };
}

/** Every server holding a replica (leader first), sorted after it. */
const holders = (info: StreamInfo): string[] => {
  const l = layout(info);
  return [l.leader, ...l.followers.map((p) => p.name).sort()];
};

/** Errors that only mean "the cluster is busy re-arranging itself": ask again. */
const transient = (err: unknown): boolean =>
  err instanceof TimeoutError ||
  err instanceof ConnectionError ||
  err instanceof NoRespondersError ||
  (err instanceof JetStreamApiError && err.status === 503);

/** Runs `op` until it succeeds, retrying transient failures for up to `ms`. */
async function eventually<T>(op: () => Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!transient(err) || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** Polls `check` every 250 ms until it holds; fails after `ms`. */
async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await sleep(250)) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

describe('KV replicas on a 3-node cluster', () => {
  it('a bucket with 3 replicas reports them and keeps serving with a follower stopped', async () => {
    const bucket = bucketName('r3');
    const kv = await js.createKeyValue({ bucket, replicas: 3, history: 5 });
    const status = await kv.status();
    expect(status.replicas).toBe(3);
    expect(status.streamInfo.config.numReplicas).toBe(3);
    expect(layout(status.streamInfo).name).toBe(CLUSTER);
    expect([...holders(status.streamInfo)].sort()).toEqual(NAMES);
    // `active` is converted from the server's nanoseconds: a caught-up peer was heard from
    // within a minute (one not heard from yet reports the time since the zero time).
    for (const peer of layout(status.streamInfo).followers.filter((p) => p.current)) {
      expect(peer.active).toBeGreaterThanOrEqual(0);
      expect(peer.active).toBeLessThan(60_000);
    }
    const r1 = await kv.put('k', 'v1');

    // Stop a follower (not the one this client is connected to, so no write is caught in a
    // reconnect and retried twice): the leader and the other follower are still a quorum of 2.
    const serverOf = (name: string) => cluster.servers[NAMES.indexOf(name)];
    const follower = layout(status.streamInfo)
      .followers.map((p) => p.name)
      .find((name) => !nc.connectedUrl.endsWith(`:${serverOf(name).port}`))!;
    const stopped = serverOf(follower);
    await stopped.kill('SIGTERM');
    try {
      const r2 = await eventually(() => kv.update('k', 'v2', r1));
      expect((await eventually(() => kv.get('k')))?.string()).toBe('v2');
      await eventually(() => kv.put('other', 'x'));
      await eventually(() => kv.delete('other'));
      expect(await eventually(() => collect(kv.keys()))).toEqual(['k']);
      const history = await eventually(() => collect(kv.history('k')));
      expect(history.map((e) => [e.revision, e.string()])).toEqual([
        [r1, 'v1'],
        [r2, 'v2'],
      ]);
      // The leader notices the missing follower; status() still reports 3 configured replicas.
      await until(async () => {
        const s = await eventually(() => kv.status());
        expect(s.replicas).toBe(3);
        const peer = layout(s.streamInfo).followers.find((p) => p.name === follower);
        return peer !== undefined && (peer.offline === true || !peer.current);
      }, 20_000);
    } finally {
      await stopped.restart();
      await cluster.waitReady(30_000);
    }
    // The restarted follower catches up, so later tests see every server available for placement.
    await until(async () => {
      const s = await eventually(() => kv.status());
      const peer = layout(s.streamInfo).followers.find((p) => p.name === follower);
      return peer?.current === true && peer.offline !== true;
    }, 30_000);
  }, 90_000);
});

describe('KV placement on a 3-node cluster', () => {
  it('places a bucket in the named cluster and records the placement in its stream', async () => {
    const bucket = bucketName('pc');
    const kv = await js.createKeyValue({ bucket, replicas: 3, placement: { cluster: CLUSTER } });
    const { streamInfo } = await kv.status();
    expect(streamInfo.config.placement).toEqual({ cluster: CLUSTER });
    expect(layout(streamInfo).name).toBe(CLUSTER);
    await eventually(() => kv.put('k', 'v'));
    expect((await eventually(() => kv.get('k')))?.string()).toBe('v');
  }, 30_000);

  it('puts replicas only on servers that carry every placement tag', async () => {
    const ssd = await js.createKeyValue({
      bucket: bucketName('ssd'),
      replicas: 2,
      placement: { tags: ['ssd'] },
    });
    const ssdInfo = (await ssd.status()).streamInfo;
    expect(ssdInfo.config.placement).toEqual({ tags: ['ssd'] });
    expect([...holders(ssdInfo)].sort()).toEqual(['s1', 's2']);

    const azc = await js.createKeyValue({
      bucket: bucketName('azc'),
      placement: { tags: ['az:c'] },
    });
    const azcInfo = (await azc.status()).streamInfo;
    expect(azcInfo.config.placement).toEqual({ tags: ['az:c'] });
    expect(holders(azcInfo)).toEqual(['s3']);
    await eventually(() => azc.put('k', 'on s3'));
    expect((await eventually(() => azc.get('k')))?.string()).toBe('on s3');
  }, 30_000);

  it.each([
    ['an unknown cluster', { placement: { cluster: 'nowhere' } }, /no suitable peers/],
    ['an unknown tag', { placement: { tags: ['gpu'] } }, /tags not matched \['gpu'\]/],
    ['more replicas than tagged servers', { replicas: 3, placement: { tags: ['ssd'] } }, /ssd/],
    ['more replicas than servers', { replicas: 5 }, /no suitable peers/],
  ])('refuses %s with the server reason and creates nothing', async (_, opts, reason) => {
    const bucket = bucketName('bad');
    const err = await rejection(js.createKeyValue({ bucket, ...opts }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect(err).toMatchObject({ apiCode: 10005, status: 400 });
    expect((err as Error).message).toMatch(/no suitable peers for placement/);
    expect((err as Error).message).toMatch(reason);
    await expect(js.keyValue(bucket)).rejects.toThrow(BucketNotFoundError);
  });
});
