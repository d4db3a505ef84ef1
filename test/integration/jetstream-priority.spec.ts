// Pull consumers with priority groups (ADR-42, nats-server 2.11+): a `pinned_client` consumer
// serves one client at a time, which keeps its `Nats-Pin-Id` and sends it with every pull; an
// unpin or a pinned client that stops pulling for `priorityTimeout` moves the pin to a standby.
// `overflow` serves pulls asking `minPending` only over that backlog; `prioritized` (2.12+) the
// lowest `priority` first. On older servers every such option fails before anything is sent.
import { FeatureNotSupportedError, InvalidOptionError } from '../../lib/core/index.js';
import {
  jetstream,
  PriorityGroupError,
  type ConsumerConfig,
  type JsMsg,
  type PullConsumer,
} from '../../lib/jetstream/index.js';
import { describeSince, itBefore, serverAtLeast, testServerVersion } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

async function publish(subj: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await fx.js.publish(`${subj}.m`, `m${i}`);
}

/** A stream and a durable with `config`, and two clients of it on their own connections. */
async function twoClients(
  config: Partial<ConsumerConfig>,
): Promise<{ stream: string; subj: string; a: PullConsumer; b: PullConsumer }> {
  const { stream, subj } = await fx.stream();
  await fx.jsm.consumers.add(stream, { durableName: 'P', ...config });
  const [ca, cb] = await Promise.all([fx.connect(), fx.connect()]);
  const a = await jetstream(ca).consumers.get(stream, 'P');
  const b = await jetstream(cb).consumers.get(stream, 'P');
  return { stream, subj, a, b };
}

const PINNED: Partial<ConsumerConfig> = {
  priorityGroups: ['g'],
  priorityPolicy: 'pinned_client',
  priorityTimeout: 2000,
};

describeSince('2.11.0', 'a pinned_client consumer', () => {
  it('serves only the pinned one of two consuming clients; unpin moves the pin', async () => {
    const { stream, subj, a, b } = await twoClients(PINNED);
    const got = { a: [] as JsMsg[], b: [] as JsMsg[] };
    const ma = a.consume({ group: 'g', callback: (m) => void (got.a.push(m), m.ack()) });
    const mb = b.consume({ group: 'g', callback: (m) => void (got.b.push(m), m.ack()) });
    try {
      await publish(subj, 20);
      await until(() => got.a.length + got.b.length === 20);
      const [pinned, standby] = got.a.length > 0 ? [a, b] : [b, a];
      const [pinnedGot, standbyGot] = got.a.length > 0 ? [got.a, got.b] : [got.b, got.a];
      expect(pinnedGot).toHaveLength(20);
      expect(standbyGot).toHaveLength(0);
      expect([pinned.pinned, standby.pinned]).toEqual([true, false]);
      const pinId = pinnedGot[0].headers?.get('Nats-Pin-Id');
      expect(pinId).toBeTruthy();
      const info = await fx.jsm.consumers.info(stream, 'P');
      expect(info.priorityGroups?.[0]).toMatchObject({ group: 'g', pinnedClientId: pinId });
      expect(info.config).toMatchObject({
        priorityGroups: ['g'],
        priorityPolicy: 'pinned_client',
        priorityTimeout: 2000,
      });

      await expect(fx.jsm.consumers.unpin(stream, 'P', 'g')).resolves.toBe(true);
      await publish(subj, 10);
      await until(() => standbyGot.length === 10);
      await sleep(200);
      expect(pinnedGot).toHaveLength(20);
      expect([pinned.pinned, standby.pinned]).toEqual([false, true]);
      expect(standbyGot[0].headers?.get('Nats-Pin-Id')).not.toBe(pinId);
    } finally {
      ma.stop();
      mb.stop();
    }
  });

  it('lets the standby take over after priorityTimeout when the pinned client stops', async () => {
    const { subj, a, b } = await twoClients(PINNED);
    const got = { a: 0, b: 0 };
    const ma = a.consume({ group: 'g', callback: (m) => void (got.a++, m.ack()) });
    const mb = b.consume({ group: 'g', callback: (m) => void (got.b++, m.ack()) });
    try {
      await publish(subj, 5);
      await until(() => got.a + got.b === 5);
      const aPinned = got.a === 5;
      (aPinned ? ma : mb).stop();
      const stoppedAt = Date.now();
      // A stopped consume() cannot take back its last pull: the server keeps it until it
      // expires (half of priorityTimeout here) and would deliver to it, into an inbox nobody
      // reads, until then. Publish once it has expired.
      await sleep(1300);
      await publish(subj, 5);
      await until(() => (aPinned ? got.b : got.a) === 5, 20_000);
      const handover = Date.now() - stoppedAt;
      // The server moves the pin only once the pinned client has not pulled for 2 s (the upper
      // bound leaves room for a loaded CI machine).
      expect(handover).toBeGreaterThanOrEqual(1000);
      expect(handover).toBeLessThan(15_000);
      expect(aPinned ? b.pinned : a.pinned).toBe(true);
    } finally {
      ma.stop();
      mb.stop();
    }
  });

  it('fetch and next carry the pin; a standby fetch resolves empty', async () => {
    const { subj, a, b } = await twoClients(PINNED);
    await publish(subj, 4);
    const first = await a.fetch(2, { group: 'g', timeout: 1000 });
    expect(first).toHaveLength(2);
    expect(a.pinned).toBe(true);
    first.forEach((m) => m.ack());
    await expect(b.fetch(2, { group: 'g', timeout: 500 })).resolves.toEqual([]);
    expect(b.pinned).toBe(false);
    const next = await a.next({ group: 'g', timeout: 1000 });
    expect(next?.string()).toBe('m2');
  });

  it('refuses a pull without its group, or with another, before sending', async () => {
    const { a } = await twoClients(PINNED);
    const out = fx.nc.stats().outMsgs;
    await expect(a.fetch(1, { timeout: 500 })).rejects.toBeInstanceOf(PriorityGroupError);
    await expect(a.next({ group: 'other', timeout: 500 })).rejects.toMatchObject({
      code: 'PRIORITY_GROUP',
    });
    expect(() => a.consume()).toThrow(PriorityGroupError);
    expect(() => a.consume({ group: 'g', minPending: 5 })).toThrow(PriorityGroupError);
    expect(() => a.consume({ group: 'this-name-is-far-too-long' })).toThrow(InvalidOptionError);
    expect(fx.nc.stats().outMsgs).toBe(out);
  });

  it("maps the server's refusal of a pull without its group to PriorityGroupError", async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'X' });
    const stale = await fx.js.consumers.get(stream, 'X');
    // The consumer gets groups after the client read its config: only the server can tell.
    await fx.jsm.consumers.delete(stream, 'X');
    await fx.jsm.consumers.add(stream, { durableName: 'X', ...PINNED });
    await expect(stale.fetch(1, { timeout: 1000 })).rejects.toBeInstanceOf(PriorityGroupError);
  });

  it('unpin refuses a group the consumer lacks', async () => {
    const { stream } = await twoClients(PINNED);
    await expect(fx.jsm.consumers.unpin(stream, 'P', 'nope')).rejects.toMatchObject({
      apiCode: 10160,
    });
  });
});

describeSince('2.11.0', 'an overflow consumer', () => {
  it('serves pulls with minPending only while that many messages are pending', async () => {
    const { subj, a, b } = await twoClients({ priorityGroups: ['g'], priorityPolicy: 'overflow' });
    await publish(subj, 5);
    // 5 pending: a pull asking for a backlog of 10 waits and expires empty.
    await expect(b.fetch(10, { group: 'g', minPending: 10, timeout: 700 })).resolves.toEqual([]);
    // One asking for 3 is served while 3 or more are pending: 3 of the 5.
    const over = await b.fetch(10, { group: 'g', minPending: 3, timeout: 700 });
    expect(over.map((m) => m.string())).toEqual(['m0', 'm1', 'm2']);
    // A pull without a condition takes the rest.
    const rest = await a.fetch(10, { group: 'g', timeout: 700 });
    expect(rest.map((m) => m.string())).toEqual(['m3', 'm4']);
  });
});

describeSince('2.12.0', 'a prioritized consumer', () => {
  it('serves the waiting pull with the lowest priority first', async () => {
    const { subj, a, b } = await twoClients({
      priorityGroups: ['g'],
      priorityPolicy: 'prioritized',
    });
    const low = a.fetch(1, { group: 'g', priority: 5, timeout: 2000 });
    const high = b.fetch(1, { group: 'g', priority: 0, timeout: 2000 });
    await sleep(200);
    await publish(subj, 1);
    expect((await high).map((m) => m.string())).toEqual(['m0']);
    expect(await low).toEqual([]);
  });

  it('refuses a priority out of 0..9 before sending', async () => {
    const { a } = await twoClients({ priorityGroups: ['g'], priorityPolicy: 'prioritized' });
    expect(() => a.consume({ group: 'g', priority: 10 })).toThrow(InvalidOptionError);
  });
});

describe('on servers without priority groups', () => {
  itBefore(
    '2.11.0',
    'refuses the config fields, pulls options and unpin before sending',
    async () => {
      const { stream } = await fx.stream();
      await fx.jsm.consumers.add(stream, { durableName: 'C' });
      const consumer = await fx.js.consumers.get(stream, 'C');
      const out = fx.nc.stats().outMsgs;
      for (const cfg of [
        { priorityGroups: ['g'], priorityPolicy: 'pinned_client' as const },
        { priorityTimeout: 1000 },
      ]) {
        const err = await fx.jsm.consumers
          .add(stream, { durableName: 'D', ...cfg })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FeatureNotSupportedError);
        expect(err).toMatchObject({ minVersion: '2.11.0' });
      }
      await expect(fx.jsm.consumers.unpin(stream, 'C', 'g')).rejects.toMatchObject({
        code: 'FEATURE_NOT_SUPPORTED',
        minVersion: '2.11.0',
      });
      await expect(consumer.fetch(1, { group: 'g' })).rejects.toBeInstanceOf(
        FeatureNotSupportedError,
      );
      expect(() => consumer.consume({ group: 'g' })).toThrow(/2\.11\.0/);
      expect(fx.nc.stats().outMsgs).toBe(out);
    },
  );

  const on211 = serverAtLeast('2.11.0') && !serverAtLeast('2.12.0');
  const title = 'refuses the prioritized policy and pull priority on 2.11';
  const skipped = `${title} [skipped: only on nats-server 2.11, running ${testServerVersion()}]`;
  (on211 ? it : it.skip)(on211 ? title : skipped, async () => {
    const { stream } = await fx.stream();
    const out = fx.nc.stats().outMsgs;
    const err = await fx.jsm.consumers
      .add(stream, { durableName: 'D', priorityGroups: ['g'], priorityPolicy: 'prioritized' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toMatchObject({ minVersion: '2.12.0' });
    expect((err as Error).message).toMatch(/prioritized/);
    expect(fx.nc.stats().outMsgs).toBe(out);
    const { a } = await twoClients({ priorityGroups: ['g'], priorityPolicy: 'overflow' });
    await expect(a.fetch(1, { group: 'g', priority: 1 })).rejects.toMatchObject({
      code: 'FEATURE_NOT_SUPPORTED',
      minVersion: '2.12.0',
    });
  });
});
