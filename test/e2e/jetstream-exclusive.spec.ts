// Exclusive (pinned) and partitioned @JetStreamHandlers, with app instances in separate
// processes (test/e2e/apps/exclusive.app.ts) killed with SIGKILL mid-stream, stopped with
// SIGSTOP, or whose handler hangs.
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes ticks `from`..`to - 1` (stream sequence n + 1); tick `hangAt` hangs its handler. */
async function publishTicks(from: number, to: number, hangAt = -1): Promise<void> {
  const js = nc.jetstream();
  for (let n = from; n < to; n++)
    await js.publish('ticks.t', JSON.stringify(n === hangAt ? { n, hang: true } : { n }));
}

const endRecs = () => recs.filter((r) => r.phase === 'end');
/** `n` distinct messages completed. */
const processed = (n: number) => new Set(endRecs().map((r) => r.seq)).size === n;

/** Wakes a frozen app up, lets it notice and rejoin, then has ticks `from`..`to - 1` processed. */
async function resumeAndPublish(app: ChildApp, from: number, to: number): Promise<number> {
  const resumedAt = Date.now();
  app.proc.kill('SIGCONT');
  await sleep(3000);
  await publishTicks(from, to);
  await waitFor(() => processed(to), 15_000, 'the later messages processed');
  await sleep(500);
  return resumedAt;
}

/** Every processing as [start, end]; one cut short by the kill ends at the kill. */
function intervals(killed: string, killedAt: number, list = recs) {
  const open = new Map<string, Rec>();
  const out: Array<{ app: string; seq: number; from: number; to: number }> = [];
  for (const r of list) {
    const k = `${r.app}/${r.seq}/${r.delivered}`;
    if (r.phase === 'start') open.set(k, r);
    else if (r.phase === 'end') {
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

  it('hands over when the pinned instance’s handler hangs; the hung one takes nothing else', async () => {
    const env = { APP_PRIORITY_TIMEOUT: '2000' }; // and so an ack wait of 2000 ms
    for (const id of ['a', 'b']) apps.push(await startChildApp(server.url, 'exclusive', id, env));
    // The handler of the 16th message hangs forever on its first delivery.
    await publishTicks(0, 40, 15);
    const ends = endRecs;
    await waitFor(() => processed(40), 30_000, 'every message processed');
    const hung = recs.find((r) => r.phase === 'start' && r.seq === 16 && r.delivered === 1)!;
    const taken = recs.find((r) => r.phase === 'start' && r.seq === 16 && r.delivered === 2)!;
    const aborted = recs.find((r) => r.phase === 'abort')!;
    expect(taken.app).not.toBe(hung.app);
    expect(aborted).toMatchObject({ app: hung.app, seq: 16, delivered: 1 });
    const handover = taken.at - hung.at;
    console.log(
      `exclusive handover from a hung handler: ${handover} ms (ack wait 2000; signal aborted after ${aborted.at - hung.at} ms)`,
    );
    expect(handover).toBeGreaterThanOrEqual(1500);
    expect(handover).toBeLessThan(3500);
    // The hung instance stays out while its handler hangs: new messages go to the other one.
    await publishTicks(40, 50);
    await waitFor(() => processed(50), 15_000, 'the later messages processed');
    expect(recs.filter((r) => r.app === hung.app && r.at > hung.at)).toEqual([aborted]);
    // Every message completed once, in stream order; the hung one never completed.
    expect(ends().map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expectOneAtATime(intervals(hung.app, aborted.at));
  }, 90_000);

  it('hands over from a frozen (SIGSTOP) instance, which takes nothing after SIGCONT', async () => {
    const env = { APP_PRIORITY_TIMEOUT: '2000', APP_WORK_MS: '20' };
    for (const id of ['a', 'b', 'c'])
      apps.push(await startChildApp(server.url, 'exclusive', id, env));
    await publishTicks(0, 150);
    const ends = endRecs;
    await waitFor(() => ends().length >= 40, 20_000, '40 processed');
    const frozen = apps.find((a) => a.id === ends()[0].app)!;
    const frozenAt = Date.now();
    frozen.proc.kill('SIGSTOP');
    await waitFor(
      () => recs.some((r) => r.app !== frozen.id && r.phase === 'start'),
      15_000,
      'a standby took over',
    );
    const after = recs.find((r) => r.app !== frozen.id && r.phase === 'start')!;
    // The pin moves after priorityTimeout without pulls; the message it held comes back after
    // its ack wait (both 2000 ms here, running at the same time).
    console.log(`exclusive handover from a frozen instance: ${after.at - frozenAt} ms`);
    expect(after.at - frozenAt).toBeLessThan(5500);
    await waitFor(() => processed(150), 30_000, 'every message processed');
    // It wakes up, sees that its event loop stood still, and rejoins as a standby.
    const resumedAt = await resumeAndPublish(frozen, 150, 170);
    // What the design guarantees after SIGCONT: the frozen instance starts no message (those it
    // received before or while frozen are skipped unsettled, and it pulls as a standby from
    // then on). Only the handler it was running when frozen may run to its end; that message is
    // not acked (the new pinned instance processed it again) and its signal is aborted.
    const late = recs.filter((r) => r.app === frozen.id && r.at >= resumedAt);
    expect(late.filter((r) => r.phase === 'start')).toEqual([]);
    const lastStart = recs.filter((r) => r.app === frozen.id && r.phase === 'start').pop()!;
    for (const r of late) expect(r.seq).toBe(lastStart.seq);
    // Every message completed, in stream order (leaving out the frozen instance's late end).
    const inTime = recs.filter((r) => !late.includes(r));
    const seqs = inTime.filter((r) => r.phase === 'end').map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]);
    expect(new Set(seqs).size).toBe(170);
    expectOneAtATime(intervals(frozen.id, frozenAt, inTime));
  }, 120_000);

  it('skips, after SIGCONT, what an idle pinned instance was sent while frozen', async () => {
    const env = { APP_PRIORITY_TIMEOUT: '2000' };
    for (const id of ['a', 'b']) apps.push(await startChildApp(server.url, 'exclusive', id, env));
    const ends = endRecs;
    await publishTicks(0, 10);
    await waitFor(() => processed(10), 15_000, 'the first messages processed');
    const frozen = apps.find((a) => a.id === ends()[0].app)!;
    await sleep(300);
    frozen.proc.kill('SIGSTOP');
    // Its pull is still waiting at the server: the next message goes to the frozen process, and
    // comes back to the other instance after the ack wait.
    await publishTicks(10, 30);
    await waitFor(() => processed(30), 20_000, 'the messages sent while frozen processed');
    const resumedAt = await resumeAndPublish(frozen, 30, 40);
    // It read that message only after SIGCONT, and skipped it: it processed nothing since.
    expect(recs.filter((r) => r.app === frozen.id && r.at >= resumedAt)).toEqual([]);
    expect(ends().map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }, 90_000);

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
