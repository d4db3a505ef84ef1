// Exclusive (pinned) and partitioned @JetStreamHandlers, with app instances in separate
// processes (test/e2e/apps/exclusive.app.ts) killed with SIGKILL mid-stream.
import { connect, type Msg, type NatsConnection } from '../../lib/index.js';
import { describeSince, startServer, type NatsServerHandle } from '../support/index.js';
import { killChildApp, startChildApp, type ChildApp } from './apps/child-app.js';
import type { Rec } from './apps/exclusive.app.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let apps: ChildApp[] = [];
let recs: Rec[] = [];

async function waitFor(cond: () => boolean, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not in ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every processing as [start, end]; one cut short by the kill ends at the kill. */
function intervals(killed: string, killedAt: number) {
  const open = new Map<string, Rec>();
  const out: Array<{ app: string; seq: number; from: number; to: number }> = [];
  for (const r of recs) {
    const k = `${r.app}/${r.seq}/${r.delivered}`;
    if (r.phase === 'start') open.set(k, r);
    else {
      out.push({ app: r.app, seq: r.seq, from: open.get(k)!.at, to: r.at });
      open.delete(k);
    }
  }
  for (const r of open.values()) {
    expect(r.app).toBe(killed);
    out.push({ app: r.app, seq: r.seq, from: r.at, to: killedAt });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** No interval of `group` starts before the one before it ended. */
function expectOneAtATime(list: Array<{ app: string; seq: number; from: number; to: number }>) {
  for (let i = 1; i < list.length; i++) {
    if (list[i].from < list[i - 1].to)
      throw new Error(`overlap: ${JSON.stringify(list[i - 1])} and ${JSON.stringify(list[i])}`);
  }
}

describeSince('2.11.0', 'exclusive and partitioned handlers across processes', () => {
  beforeEach(async () => {
    server = await startServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    recs = [];
    nc.subscribe('rec.>', { callback: (m: Msg) => recs.push(m.json<Rec>()) });
    await nc.flush();
  });

  afterEach(async () => {
    for (const a of apps) await killChildApp(a);
    apps = [];
    await nc?.close();
    await server?.stop();
  });

  it('hands over to one standby when the pinned instance is SIGKILLed, in stream order', async () => {
    for (const id of ['a', 'b', 'c']) apps.push(await startChildApp(server.url, 'exclusive', id));
    const js = nc.jetstream();
    const total = 200;
    for (let n = 0; n < total; n++) await js.publish('ticks.t', JSON.stringify({ n }));
    const ends = () => recs.filter((r) => r.phase === 'end');
    await waitFor(() => ends().length >= 60, 20_000, '60 processed');
    const pinned = ends()[0].app;
    // Before the kill only the pinned instance processed anything.
    expect(new Set(ends().map((r) => r.app))).toEqual(new Set([pinned]));
    const killedAt = Date.now();
    await killChildApp(apps.find((a) => a.id === pinned)!);
    const done = () => new Set(ends().map((r) => r.seq)).size === total;
    await waitFor(done, 30_000, 'every message processed');
    const after = recs.find((r) => r.app !== pinned && r.phase === 'start')!;
    const handover = after.at - killedAt;
    console.log(`exclusive handover after SIGKILL: ${handover} ms (priorityTimeout 5000)`);
    expect(handover).toBeLessThan(8000);
    // One standby took over; the other stayed on standby.
    const takers = new Set(ends().map((r) => r.app));
    expect(takers.size).toBe(2);
    // Stream order: the completed messages, in the order they completed, never go back (the
    // one cut short by the kill may complete twice).
    const seqs = ends().map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]);
    expectOneAtATime(intervals(pinned, killedAt));
  }, 90_000);

  it('hands over at once when the pinned instance closes (SIGTERM)', async () => {
    for (const id of ['a', 'b']) apps.push(await startChildApp(server.url, 'exclusive', id));
    const js = nc.jetstream();
    for (let n = 0; n < 100; n++) await js.publish('ticks.t', JSON.stringify({ n }));
    const ends = () => recs.filter((r) => r.phase === 'end');
    await waitFor(() => ends().length >= 20, 20_000, '20 processed');
    const pinned = ends()[0].app;
    const closedAt = Date.now();
    await killChildApp(
      apps.find((a) => a.id === pinned)!,
      'SIGTERM',
    );
    await waitFor(() => new Set(ends().map((r) => r.seq)).size === 100, 30_000, 'all processed');
    const after = recs.find((r) => r.app !== pinned && r.phase === 'start')!;
    console.log(`exclusive handover after close(): ${after.at - closedAt} ms`);
    expect(after.at - closedAt).toBeLessThan(2000);
    const seqs = ends().map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]);
    expectOneAtATime(intervals(pinned, closedAt));
  }, 60_000);

  it('spreads 6 partitions over 3 instances and moves a killed one’s partitions, per-key order kept', async () => {
    for (const id of ['a', 'b', 'c'])
      apps.push(await startChildApp(server.url, 'partitions', id, { APP_WORK_MS: '15' }));
    // The members see each other within a lease renewal (1 s).
    await new Promise((r) => setTimeout(r, 2500));
    const js = nc.jetstream();
    const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
    const perKey = 12;
    const publish = async (from: number, to: number) => {
      for (let n = from; n < to; n++)
        for (const key of keys) await js.publish(`orders.${key}`, JSON.stringify({ key, n }));
    };
    await publish(0, perKey / 2);
    const ends = () => recs.filter((r) => r.phase === 'end');
    await waitFor(() => ends().length >= 60, 20_000, '60 processed');
    const before = new Set(ends().map((r) => r.app));
    expect(before).toEqual(new Set(['a', 'b', 'c']));
    const victim = ends()[0].app;
    const killedAt = Date.now();
    await killChildApp(apps.find((a) => a.id === victim)!);
    await publish(perKey / 2, perKey);
    const all = keys.length * perKey;
    const seen = () => new Set(ends().map((r) => r.body)).size;
    await waitFor(() => seen() === all, 45_000, 'every message processed');
    // Every key's messages completed in order (a message cut short by the kill may complete twice).
    for (const key of keys) {
      const ns = ends()
        .map((r) => JSON.parse(r.body) as { key: string; n: number })
        .filter((b) => b.key === key)
        .map((b) => b.n);
      for (let i = 1; i < ns.length; i++) expect(ns[i]).toBeGreaterThanOrEqual(ns[i - 1]);
      expect(new Set(ns).size).toBe(perKey);
    }
    // Each partition was processed by one instance at a time.
    const byPartition = new Map<string, ReturnType<typeof intervals>>();
    for (const i of intervals(victim, killedAt)) {
      const p = recs.find((r) => r.seq === i.seq)!.subject.split('.')[0];
      byPartition.set(p, [...(byPartition.get(p) ?? []), i]);
    }
    expect(byPartition.size).toBe(6);
    for (const list of byPartition.values()) expectOneAtATime(list);
    const moved = recs.filter((r) => r.phase === 'start' && r.at > killedAt);
    expect(new Set(moved.map((r) => r.app)).has(victim)).toBe(false);
    const victimParts = new Set(
      recs.filter((r) => r.app === victim).map((r) => r.subject.split('.')[0]),
    );
    const firstMoved = moved.find((r) => victimParts.has(r.subject.split('.')[0]));
    console.log(
      `partitions ${[...victimParts].join(',')} of the killed instance resumed after ${firstMoved ? firstMoved.at - killedAt : '?'} ms (lease 3000, priorityTimeout 2000)`,
    );
  }, 120_000);
});
