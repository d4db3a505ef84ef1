// "409 Exceeded MaxWaiting": the server refuses a pull when the consumer already holds
// `maxWaiting` pulls. fetch() rejects with that refusal (an empty result would read as "no
// messages"); consume() reports it once through onError and keeps pulling until it gets in. The
// status itself never reaches user code as a message.
import { JetStreamApiError, type NatsError } from '../../lib/core/index.js';
import { jetstream, type JsMsg, type PullConsumer } from '../../lib/jetstream/index.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { rejection, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const errors: NatsError[] = [];
beforeEach(() => void errors.splice(0));

/** A stream and a durable that admits one waiting pull, read through a client with `onError`. */
async function setup(): Promise<{ c: PullConsumer; stream: string; subj: string }> {
  const { stream, subj } = await fx.stream();
  await fx.jsm.consumers.add(stream, { durableName: 'c', ackWait: 30_000, maxWaiting: 1 });
  const nc = await fx.connect({ onError: (e) => void errors.push(e) });
  return { c: await jetstream(nc).consumers.get(stream, 'c'), stream, subj };
}

/** Waits until the server holds `n` pulls for the durable. */
async function waitingPulls(stream: string, n: number): Promise<void> {
  for (const end = Date.now() + 10_000; ; await sleep(50)) {
    if ((await fx.jsm.consumers.info(stream, 'c')).numWaiting === n) return;
    if (Date.now() > end) throw new Error(`the server never held ${n} waiting pull(s)`);
  }
}

/** Counts the pull requests sent for the durable, seen from a separate connection. */
async function countPulls(stream: string): Promise<{ readonly count: number }> {
  const spy = await fx.connect();
  const counter = { count: 0 };
  spy.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${stream}.c`, { callback: () => counter.count++ });
  await spy.flush();
  return counter;
}

const isMaxWaiting = (e: unknown): boolean =>
  e instanceof JetStreamApiError && e.status === 409 && /Exceeded MaxWaiting/.test(e.message);

describe('409 Exceeded MaxWaiting', () => {
  it('fetch() beyond maxWaiting rejects at once while the waiting fetch still gets the messages', async () => {
    const { c, stream, subj } = await setup();
    const first = c.fetch(3, { timeout: 20_000 });
    await waitingPulls(stream, 1);
    const began = Date.now();
    const err = await rejection(c.fetch(3, { timeout: 20_000 }));
    expect(isMaxWaiting(err)).toBe(true);
    expect((err as Error).message).toBe('pull refused: Exceeded MaxWaiting');
    // Refused by the server, not left to run into its 20 s timeout.
    expect(Date.now() - began).toBeLessThan(10_000);
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.m`, `${i}`);
    expect((await first).map((m) => m.string())).toEqual(['0', '1', '2']);
    // The refused fetch took nothing: a new one gets the next message.
    await fx.js.publish(`${subj}.m`, '3');
    expect((await c.fetch(1, { timeout: 5000 })).map((m) => m.string())).toEqual(['3']);
  });

  it('a fetch() while consume() holds the only waiting slot is refused, and consume() gets everything', async () => {
    const { c, stream, subj } = await setup();
    const got: JsMsg[] = [];
    const cm = c.consume({
      maxMessages: 1,
      expires: 20_000,
      callback: (m) => {
        got.push(m);
        m.ack();
      },
    });
    try {
      await waitingPulls(stream, 1);
      expect(isMaxWaiting(await rejection(c.fetch(1, { timeout: 20_000 })))).toBe(true);
      for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.m`, `${i}`);
      await until(() => got.length >= 10, 15_000);
      await sleep(200); // nothing more may come
      expect(got.map((m) => m.string())).toEqual([
        '0',
        '1',
        '2',
        '3',
        '4',
        '5',
        '6',
        '7',
        '8',
        '9',
      ]);
      expect(got.every((m) => m.seq > 0)).toBe(true);
      // consume()'s own pulls (maxMessages 1: one at a time) were never refused.
      expect(errors).toEqual([]);
    } finally {
      cm.stop();
    }
    expect(await cm.closed).toBeUndefined();
  });

  itBefore(
    '2.11.0',
    'consume() refused while a fetch() holds the slot reports it once, waits without spinning, then takes over',
    async () => {
      const { c, stream, subj } = await setup();
      const fetched = c.fetch(2, { timeout: 20_000 });
      await waitingPulls(stream, 1);
      const pulls = await countPulls(stream);
      const got: string[] = [];
      const cm = c.consume({
        maxMessages: 10,
        expires: 20_000,
        callback: (m) => void got.push(m.string()),
      });
      try {
        await until(() => errors.length > 0, 10_000);
        // Refused pulls are retried about once a second, not in a tight loop, and reported once.
        await sleep(2500);
        expect(pulls.count).toBeGreaterThanOrEqual(2);
        expect(pulls.count).toBeLessThanOrEqual(6);
        expect(errors).toHaveLength(1);
        expect(isMaxWaiting(errors[0])).toBe(true);
        expect(got).toEqual([]);

        // The fetch takes the first two and frees the slot; consume() gets in and reads the rest.
        for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.m`, `${i}`);
        expect((await fetched).map((m) => m.string())).toEqual(['0', '1']);
        await until(() => got.length >= 8, 15_000);
        await sleep(200);
        expect(got).toEqual(['2', '3', '4', '5', '6', '7', '8', '9']);
        expect(errors).toHaveLength(1);
      } finally {
        cm.stop();
      }
      expect(await cm.closed).toBeUndefined();
    },
  );

  // 2.11+ answers a refused pull that asked for heartbeats with nothing at all (no 409, so that
  // clients wait for the missing heartbeats instead of re-pulling in a hot loop); consume()
  // always asks for heartbeats, so it only learns of the refusal from their absence.
  itSince(
    '2.11.0',
    'consume() refused while a fetch() holds the slot hears nothing, re-pulls after the missed heartbeats, then takes over',
    async () => {
      const { c, stream, subj } = await setup();
      const fetched = c.fetch(2, { timeout: 20_000 });
      await waitingPulls(stream, 1);
      const pulls = await countPulls(stream);
      const got: string[] = [];
      const cm = c.consume({
        maxMessages: 10,
        expires: 4000,
        idleHeartbeat: 500,
        callback: (m) => void got.push(m.string()),
      });
      try {
        // One re-pull per two missed heartbeats (1 s), not a tight loop; nothing to report.
        await sleep(2600);
        expect(pulls.count).toBeGreaterThanOrEqual(2);
        expect(pulls.count).toBeLessThanOrEqual(5);
        expect(cm.missedHeartbeats).toBeGreaterThanOrEqual(1);
        expect(errors).toEqual([]);
        expect(got).toEqual([]);

        for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.m`, `${i}`);
        expect((await fetched).map((m) => m.string())).toEqual(['0', '1']);
        await until(() => got.length >= 8, 15_000);
        await sleep(200);
        expect(got).toEqual(['2', '3', '4', '5', '6', '7', '8', '9']);
        expect(errors).toEqual([]);
      } finally {
        cm.stop();
      }
      expect(await cm.closed).toBeUndefined();
    },
  );

  // consume() sends its next pull while the previous one still waits; a consumer that admits one
  // waiting pull refuses it. That must cost neither messages nor a flood of reports.
  it('consume() alone on a maxWaiting 1 consumer delivers everything, reporting its refused re-pulls at most once', async () => {
    const { c, subj } = await setup();
    const got: string[] = [];
    const cm = c.consume({
      maxMessages: 10,
      expires: 20_000,
      callback: (m) => {
        got.push(m.string());
        m.ack();
      },
    });
    try {
      for (let i = 0; i < 100; i++) {
        await fx.js.publish(`${subj}.m`, `${i}`);
        await sleep(5);
      }
      await until(() => got.length >= 100, 20_000);
      await sleep(200);
    } finally {
      cm.stop();
    }
    expect(got).toEqual([...Array(100).keys()].map(String));
    expect(errors.length).toBeLessThanOrEqual(1);
    expect(errors.every(isMaxWaiting)).toBe(true);
  }, 40_000);
});
