// Failover on a real 3-node cluster started fresh for each test.
import { setTimeout as sleep } from 'node:timers/promises';
import { NoRespondersError, TimeoutError, type NatsConnection } from '../../lib/core/index.js';
import { startCluster, stopAllServers, type NatsCluster } from '../support/index.js';
import { Conns, waitUntil, watch } from './resilience-helpers.js';

afterAll(stopAllServers);
const conns = new Conns();
let cluster: NatsCluster;
beforeEach(async () => {
  cluster = await startCluster(3);
});
afterEach(async () => {
  await conns.closeAll();
  await cluster.stop();
});

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

describe('cluster failover', () => {
  it('requests mid-stream when the current server dies: each settles within its timeout, then succeed elsewhere', async () => {
    const [a, , c] = cluster.urls;
    const requester = await conns.connect({ servers: a, noRandomize: true });
    const responder = await conns.connect({ servers: c, ignoreClusterUpdates: true });
    responder.subscribe('svc', { callback: (m) => void m.respond(`re ${m.string()}`) });
    await responder.flush();
    await waitForInterest(requester, responder, 'probe.svc');
    const w = watch(requester);
    const results: Array<{ ok: boolean; err?: unknown; ms: number; sentAt: number }> = [];
    let running = true;
    let n = 0;
    const workers = Array.from({ length: 5 }, async () => {
      while (running) {
        const t0 = performance.now();
        const i = n++;
        try {
          const m = await requester.request('svc', String(i), { timeout: 1500 });
          expect(m.string()).toBe(`re ${i}`);
          results.push({ ok: true, ms: performance.now() - t0, sentAt: t0 });
        } catch (err) {
          results.push({ ok: false, err, ms: performance.now() - t0, sentAt: t0 });
        }
      }
    });
    await waitUntil(() => results.length > 200, 'traffic before');
    await cluster.servers[0].kill();
    await waitUntil(() => w.count('reconnect') === 1, 'failover');
    const at = results.length;
    await waitUntil(() => results.length > at + 200, 'traffic after', 8000);
    running = false;
    await Promise.all(workers);
    expect(requester.connectedUrl).not.toBe(a);
    const failures = results.filter((r) => !r.ok);
    // only timeouts, each within its 1500 ms (plus a margin)
    expect(failures.filter((f) => !(f.err instanceof TimeoutError))).toEqual([]);
    expect(failures.filter((f) => f.ms > 1500 + 300)).toEqual([]);
    expect(failures.length).toBeLessThanOrEqual(5 * 2);
    expect(results.slice(-100).every((r) => r.ok)).toBe(true);
  });

  it('noRandomize: fails over in the configured order', async () => {
    const [a, b, c] = cluster.urls;
    const nc = await conns.connect({ servers: [a, b, c], noRandomize: true });
    const w = watch(nc);
    expect(nc.connectedUrl).toBe(a);
    await cluster.servers[0].kill();
    await waitUntil(() => w.count('reconnect') === 1, 'first failover');
    expect(nc.connectedUrl).toBe(b);
    await cluster.servers[1].kill();
    await waitUntil(() => w.count('reconnect') === 2, 'second failover');
    expect(nc.connectedUrl).toBe(c);
  });

  it('one seed URL: survives successive deaths of every node it discovered, in turn', async () => {
    const [a] = cluster.urls;
    const nc = await conns.connect({ servers: a, noRandomize: true });
    const w = watch(nc);
    const sub = nc.subscribe('alive');
    await nc.flush();
    // Under load a's routes may still be forming: the INFO naming both others can come later.
    await waitUntil(() => nc.servers.length === 3, 'gossip of both other nodes');
    expect(nc.servers).toHaveLength(3);
    await cluster.servers[0].kill();
    await waitUntil(() => w.count('reconnect') === 1, 'first failover');
    const second = nc.connectedUrl;
    expect(second).not.toBe(a);
    const idx = cluster.urls.indexOf(second);
    await cluster.servers[0].restart();
    await cluster.waitReady();
    await cluster.servers[idx].kill();
    await waitUntil(() => w.count('reconnect') === 2, 'second failover', 8000);
    expect(nc.connectedUrl).not.toBe(second);
    nc.publish('alive', 'yes');
    expect((await sub.nextMsg(2000)).string()).toBe('yes');
  });

  it('ignoreClusterUpdates: never moves to a gossiped node, waits for its own server', async () => {
    const [a] = cluster.urls;
    const nc = await conns.connect({
      servers: a,
      ignoreClusterUpdates: true,
      maxReconnectAttempts: -1,
    });
    const w = watch(nc);
    await cluster.servers[0].kill();
    await sleep(500);
    expect(nc.isConnected).toBe(false);
    expect(nc.servers).toEqual([a]);
    await cluster.servers[0].restart();
    await waitUntil(() => w.count('reconnect') === 1, 'reconnect to its own server');
    expect(nc.connectedUrl).toBe(a);
  });

  it('lame duck of the current server while a publisher runs: nothing lost, nothing twice', async () => {
    const [a, , c] = cluster.urls;
    const pub = await conns.connect({ servers: a, noRandomize: true });
    const subNc = await conns.connect({ servers: c, ignoreClusterUpdates: true });
    const got: number[] = [];
    subNc.subscribe('ldm.seq', { callback: (m) => got.push(Number(m.string())) });
    await subNc.flush();
    await waitForInterest(pub, subNc, 'ldm.probe');
    const w = watch(pub);
    let seq = 0;
    let running = true;
    const errors: unknown[] = [];
    const publisher = (async () => {
      while (running) {
        try {
          for (let i = 0; i < 20; i++) await pub.publish('ldm.seq', String(seq++));
        } catch (err) {
          errors.push(err);
        }
        await sleep(1);
      }
    })();
    await waitUntil(() => got.length > 500, 'traffic before');
    await cluster.servers[0].lameDuck();
    await waitUntil(() => w.count('reconnect') === 1, 'move off the lame duck', 8000);
    const at = seq;
    await waitUntil(() => got.length > 0 && got.includes(at + 500), 'traffic after', 8000);
    running = false;
    await publisher;
    await pub.flush();
    await waitUntil(() => got.length >= seq, 'all messages', 3000).catch(() => undefined);
    expect(errors).toEqual([]);
    const set = new Set(got);
    expect(set.size).toBe(got.length); // nothing twice
    const missing: number[] = [];
    for (let i = 0; i < seq; i++) if (!set.has(i)) missing.push(i);
    expect(missing).toEqual([]);
  });

  it('no-responder answers from the new node are not caused by replay order (requester and responder on one connection)', async () => {
    const [a] = cluster.urls;
    const nc = await conns.connect({ servers: a, noRandomize: true });
    const w = watch(nc);
    nc.subscribe('self.svc', { callback: (m) => void m.respond('ok') });
    await nc.flush();
    await cluster.servers[0].kill();
    await waitUntil(() => w.count('disconnect') === 1, 'disconnect');
    const reqs = Array.from({ length: 20 }, () =>
      nc.request('self.svc', '', { timeout: 4000 }).then(
        () => 'ok',
        (e: unknown) => (e instanceof NoRespondersError ? '503' : String(e)),
      ),
    );
    expect(await Promise.all(reqs)).toEqual(Array(20).fill('ok'));
  });
});
