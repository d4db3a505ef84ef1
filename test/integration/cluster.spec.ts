// Server pool behaviour on a real 3-node cluster: gossip, failover, lame duck.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  type ConnectOptions,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';
import { startCluster, stopAllServers, type NatsCluster, recordStatus } from '../support/index.js';

afterAll(stopAllServers);

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

async function client(
  servers: string | string[],
  opts: ConnectOptions = {},
): Promise<NatsConnection> {
  const nc = await connect({ servers, reconnectTimeWait: 50, reconnectJitter: 10, ...opts });
  open.push(nc);
  return nc;
}

function watch(nc: NatsConnection): { seen: Status[]; count(type: Status['type']): number } {
  const seen = recordStatus(nc);
  return { seen, count: (type) => seen.filter((s) => s.type === type).length };
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Publishes until `sub` hears it: interest crosses cluster routes asynchronously. */
async function waitForInterest(pub: NatsConnection, sub: NatsConnection, subject: string) {
  let heard = false;
  const probe = sub.subscribe(subject, { callback: () => (heard = true) });
  await sub.flush();
  await waitUntil(() => {
    pub.publish(subject);
    return heard;
  }, `interest in ${subject}`);
  probe.unsubscribe();
}

describe('server pool on a cluster', () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(() => cluster.stop());

  it('adds servers gossiped in INFO connect_urls and reports them', async () => {
    const discovered: string[][] = [];
    const [first, ...rest] = cluster.urls;
    const nc = await client(first, { onDiscoveredServers: (s) => discovered.push(s) });
    expect([...nc.discoveredServers].sort()).toEqual([...rest].sort());
    expect([...nc.servers].sort()).toEqual([...cluster.urls].sort());
    expect(discovered).toHaveLength(1);
    expect([...discovered[0]].sort()).toEqual([...rest].sort());
  });

  it('ignores gossiped servers with ignoreClusterUpdates', async () => {
    const discovered: string[][] = [];
    const nc = await client(cluster.urls[0], {
      ignoreClusterUpdates: true,
      onDiscoveredServers: (s) => discovered.push(s),
    });
    expect(nc.discoveredServers).toEqual([]);
    expect(nc.servers).toEqual([cluster.urls[0]]);
    expect(discovered).toEqual([]);
  });

  it('keeps the configured order with noRandomize and shuffles it otherwise', async () => {
    for (let i = 0; i < 8; i++) {
      const nc = await client(cluster.urls, { noRandomize: true });
      expect(nc.connectedUrl).toBe(cluster.urls[0]);
    }
    const picked = new Set<string>();
    for (let i = 0; i < 24; i++) picked.add((await client(cluster.urls)).connectedUrl);
    expect(picked.size).toBeGreaterThan(1);
  });
});

describe('failover on a cluster', () => {
  let cluster: NatsCluster;
  beforeEach(async () => {
    cluster = await startCluster(3);
  });
  afterEach(() => cluster.stop());

  it('moves to a discovered node when its server dies under load, keeping subscriptions', async () => {
    const home = cluster.urls[0];
    const opts: ConnectOptions = { noRandomize: true };
    const subNc = await client(home, opts);
    const pubNc = await client(home, opts);
    const ws = watch(subNc);
    const wp = watch(pubNc);
    const got: number[] = [];
    subNc.subscribe('load.seq', { callback: (m) => got.push(Number(m.string())) });
    const queued: number[] = [];
    subNc.subscribe('load.seq', { queue: 'q', callback: (m) => queued.push(Number(m.string())) });
    await subNc.flush();
    let seq = 0;
    let running = true;
    const publisher = (async () => {
      while (running) {
        for (let i = 0; i < 10; i++) await pubNc.publish('load.seq', String(seq++));
        await sleep(1);
      }
    })();
    await waitUntil(() => got.length > 200, 'traffic before the failure');
    await cluster.servers[0].kill();
    await waitUntil(() => ws.count('reconnect') + wp.count('reconnect') === 2, 'both reconnect');
    for (const nc of [subNc, pubNc]) {
      expect(nc.connectedUrl).not.toBe(home);
      expect(nc.discoveredServers).toContain(nc.connectedUrl);
    }
    const atReconnect = seq;
    await waitUntil(() => got.length > 0 && got.at(-1)! > atReconnect + 300, 'traffic after');
    running = false;
    await publisher;
    // No duplicates, no reordering; the queue subscription came back too.
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]);
    expect(queued.filter((n) => n > atReconnect + 300).length).toBeGreaterThan(0);
    const from = seq;
    for (let i = 0; i < 100; i++) pubNc.publish('load.seq', String(seq++));
    await pubNc.flush();
    await waitUntil(() => got.at(-1) === seq - 1, 'the last message after the failover');
    expect(got.filter((n) => n >= from)).toHaveLength(100);
    expect(ws.seen.filter((s) => s.type === 'error')).toEqual([]);
  });

  it('drops a gossiped server that left and reports it through status() when it returns', async () => {
    const [home, , leaver] = cluster.urls;
    const discovered: string[][] = [];
    const nc = await client(home, {
      noRandomize: true,
      onDiscoveredServers: (s) => discovered.push(s),
    });
    const w = watch(nc);
    expect(nc.discoveredServers).toContain(leaver);
    await cluster.servers[2].kill();
    await waitUntil(() => !nc.servers.includes(leaver), 'the departed server to be dropped');
    await cluster.servers[2].restart();
    await waitUntil(() => w.count('discoveredServers') === 1, 'a discoveredServers event');
    expect(w.seen.find((s) => s.type === 'discoveredServers')).toEqual({
      type: 'discoveredServers',
      servers: [leaver],
    });
    expect(discovered.at(-1)).toEqual([leaver]);
    expect(nc.servers).toContain(leaver);
  });

  it('reports lame duck mode, moves to another node and keeps subscriptions', async () => {
    const home = cluster.urls[0];
    const lameDucks: string[] = [];
    const nc = await client(home, { noRandomize: true, onLameDuck: (s) => lameDucks.push(s) });
    const w = watch(nc);
    const replier = await client(cluster.urls[2], { noRandomize: true });
    nc.subscribe('ldm.svc', { queue: 'svc', callback: (m) => void m.respond(`ok ${m.string()}`) });
    const events = nc.subscribe('ldm.events');
    await nc.flush();
    await cluster.servers[0].lameDuck();
    await waitUntil(() => w.count('lameDuck') === 1, 'lame duck event');
    expect(w.seen.find((s) => s.type === 'lameDuck')).toEqual({ type: 'lameDuck', server: home });
    expect(lameDucks).toEqual([home]);
    await waitUntil(() => nc.isConnected && nc.connectedUrl !== home, 'a move', 8000);
    await waitForInterest(replier, nc, 'ldm.probe');
    expect((await replier.request('ldm.svc', 'x', { timeout: 2000 })).string()).toBe('ok x');
    replier.publish('ldm.events', 'after');
    expect((await events.nextMsg(2000)).string()).toBe('after');
    // Lame duck mode is not an error.
    expect(w.seen.filter((s) => s.type === 'error')).toEqual([]);
    await cluster.servers[0].kill();
  });

  it('moves off a lame-duck server right away instead of waiting to be closed', async () => {
    await cluster.stop();
    cluster = await startCluster(3, { lameDuckGracePeriod: '5s' });
    const home = cluster.urls[0];
    const nc = await client(home, { noRandomize: true });
    const w = watch(nc);
    const sub = nc.subscribe('ldm.early');
    await nc.flush();
    await cluster.servers[0].lameDuck();
    await waitUntil(() => w.count('lameDuck') === 1, 'lame duck event');
    // The server only closes its clients after the 5 s grace period.
    await waitUntil(() => nc.isConnected && nc.connectedUrl !== home, 'an early move', 3000);
    const other = await client(nc.connectedUrl);
    other.publish('ldm.early', 'moved');
    expect((await sub.nextMsg(2000)).string()).toBe('moved');
    await cluster.servers[0].kill(); // rather than wait out its grace period
  });
});
