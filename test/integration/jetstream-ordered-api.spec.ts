// Ordered consumers read as pull consumers are: consume(), fetch() and next(), in order, across
// a recreated consumer, one reader at a time; and they recover from a server-side reset of their
// ephemeral consumer (nats-server 2.14).
import { InvalidOperationError, InvalidOptionError } from '../../lib/core/index.js';
import type { JsMsg, OrderedSubscription } from '../../lib/jetstream/index.js';
import { itSince } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function publish(subj: string, from: number, to: number): Promise<void> {
  for (const i of range(from, to)) await fx.js.publish(`${subj}.a`, `m${i}`);
}

/** Fetches until `n` messages arrived (each batch in order), or a batch came back empty. */
async function fetchAll(oc: OrderedSubscription, n: number, batch = 4): Promise<JsMsg[]> {
  const got: JsMsg[] = [];
  while (got.length < n) {
    const before = got.length;
    for await (const m of oc.fetch({ maxMessages: batch, expires: 2000 })) got.push(m);
    if (got.length === before) break;
  }
  return got;
}

describe('ordered consumer: consume()', () => {
  it('iterates in order and goes on across a deleted consumer, without gaps or repeats', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 5);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 150 });
    const messages = oc.consume();
    const got: JsMsg[] = [];
    for await (const m of messages) {
      got.push(m);
      if (got.length === 5) {
        await fx.jsm.consumers.delete(stream, oc.consumerName);
        await publish(subj, 6, 10);
      }
      if (got.length === 10) break;
    }
    await messages.closed;
    expect(got.map((m) => m.seq)).toEqual(range(1, 10));
    expect(oc.resets).toBeGreaterThanOrEqual(1);
    // A break ends the reader, not the ordered consumer: another reader goes on from there.
    await publish(subj, 11, 11);
    expect((await oc.next({ expires: 2000 }))?.seq).toBe(11);
    oc.stop();
  });

  it('calls a callback in order; stop() ends the reader, and iterating it is refused', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 20);
    const oc = await fx.js.consumers.ordered(stream);
    const got: number[] = [];
    const messages = oc.consume({ callback: (m) => void got.push(m.seq) });
    await expect(messages[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(
      InvalidOperationError,
    );
    await until(() => got.length === 20);
    messages.stop();
    await messages.closed;
    expect(got).toEqual(range(1, 20));
    oc.stop();
  });
});

describe('ordered consumer: fetch()', () => {
  it('yields at most maxMessages, in order; the next batch continues where the last stopped', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 10);
    const oc = await fx.js.consumers.ordered(stream);
    const batches: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const seqs: number[] = [];
      const batch = oc.fetch({ maxMessages: 4, expires: 1000 });
      for await (const m of batch) seqs.push(m.seq);
      expect(batch.received).toBe(seqs.length);
      batches.push(seqs);
    }
    oc.stop();
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ]);
  });

  it('ends on expiry with what arrived, and with nothing on an idle stream', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 2);
    const oc = await fx.js.consumers.ordered(stream);
    let t0 = Date.now();
    const first: number[] = [];
    for await (const m of oc.fetch({ maxMessages: 10, expires: 500 })) first.push(m.seq);
    expect(first).toEqual([1, 2]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    t0 = Date.now();
    const none: JsMsg[] = [];
    for await (const m of oc.fetch({ maxMessages: 10, expires: 300 })) none.push(m);
    const took = Date.now() - t0;
    oc.stop();
    expect(none).toEqual([]);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1500);
  });

  it('a batch survives its consumer being deleted mid-batch: in order, nothing twice', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 3);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 150 });
    const first = oc.consumerName;
    const got: number[] = [];
    for await (const m of oc.fetch({ maxMessages: 8, expires: 8000 })) {
      got.push(m.seq);
      if (got.length === 3) {
        await fx.jsm.consumers.delete(stream, first);
        await publish(subj, 4, 8);
      }
    }
    oc.stop();
    expect(got).toEqual(range(1, 8));
    expect(oc.consumerName).not.toBe(first);
    expect(oc.resets).toBeGreaterThanOrEqual(1);
  });

  it('refuses a maxMessages or expires that is not usable, before reading', async () => {
    const { stream } = await fx.stream();
    const oc = await fx.js.consumers.ordered(stream);
    for (const maxMessages of [0, -1, 1.5, Number.NaN])
      expect(() => oc.fetch({ maxMessages })).toThrow(InvalidOptionError);
    expect(() => oc.fetch({ expires: 0 })).toThrow(InvalidOptionError);
    await expect(oc.next({ expires: -1 })).rejects.toBeInstanceOf(InvalidOptionError);
    // Nothing was claimed by the refused calls.
    expect(await oc.next({ expires: 50 })).toBeNull();
    oc.stop();
  });
});

describe('ordered consumer: next()', () => {
  it('returns the messages one by one in order, then null on expiry', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 3);
    const oc = await fx.js.consumers.ordered(stream);
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) seqs.push((await oc.next({ expires: 2000 }))!.seq);
    expect(seqs).toEqual([1, 2, 3]);
    const t0 = Date.now();
    expect(await oc.next({ expires: 300 })).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await publish(subj, 4, 4);
    expect((await oc.next({ expires: 2000 }))?.seq).toBe(4);
    oc.stop();
    expect(await oc.next({ expires: 2000 })).toBeNull(); // stopped: at once
  });
});

describe('ordered consumer: one reader at a time', () => {
  it('refuses a second reader while one reads; one after the other they lose nothing', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 6);
    const oc = await fx.js.consumers.ordered(stream);
    const messages = oc.consume();
    const it = messages[Symbol.asyncIterator]();
    const got: number[] = [((await it.next()).value as JsMsg).seq];
    expect(() => oc.fetch()).toThrow(InvalidOperationError);
    expect(() => oc.consume()).toThrow(InvalidOperationError);
    await expect(oc.next()).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(oc[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(InvalidOperationError);
    messages.stop();

    const batch = oc.fetch({ maxMessages: 2, expires: 2000 });
    await expect(oc.next()).rejects.toBeInstanceOf(InvalidOperationError);
    for await (const m of batch) got.push(m.seq);
    got.push((await oc.next({ expires: 2000 }))!.seq);
    for await (const m of oc) {
      got.push(m.seq);
      if (m.seq === 6) break; // a break out of a direct iteration stops the ordered consumer
    }
    expect(got).toEqual(range(1, 6));
    await oc.closed;
  });

  it('a fetch past its expiry no longer holds the reader, even if never iterated', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 3);
    const oc = await fx.js.consumers.ordered(stream);
    oc.fetch({ maxMessages: 5, expires: 100 }); // never read
    expect(() => oc.fetch()).toThrow(InvalidOperationError);
    await new Promise((r) => setTimeout(r, 200));
    const got = await fetchAll(oc, 3);
    oc.stop();
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('an ordered consumer with a callback refuses every other reader', async () => {
    const { stream } = await fx.stream();
    const oc = await fx.js.consumers.ordered(stream, { callback: () => undefined });
    expect(() => oc.consume()).toThrow(InvalidOperationError);
    expect(() => oc.fetch()).toThrow(InvalidOperationError);
    await expect(oc.next()).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(oc[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(InvalidOperationError);
    oc.stop();
  });
});

describe('ordered consumer after a consumer reset (nats-server 2.14)', () => {
  // A reset restarts the consumer sequence at 1 whatever stream sequence it moves to (measured
  // on 2.14.10): the ordered consumer sees a gap and recreates its consumer after the last
  // message it handed on.
  itSince('2.14.0', 'a reset back to an earlier sequence: recovered, nothing twice', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 10);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 1000 });
    const got = await fetchAll(oc, 10);
    const first = oc.consumerName;
    const info = await fx.jsm.consumers.reset(stream, first, 3);
    expect(info.resetSeq).toBe(3);
    await until(() => oc.resets === 1, 5000);
    await publish(subj, 11, 15);
    got.push(...(await fetchAll(oc, 5)));
    oc.stop();
    expect(got.map((m) => m.seq)).toEqual(range(1, 15));
    expect(got.map((m) => m.string())).toEqual(range(1, 15).map((i) => `m${i}`));
    expect(oc.consumerName).not.toBe(first);
  });

  itSince('2.14.0', 'a reset ahead past unread messages: none skipped', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 4);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 1000 });
    const got = await fetchAll(oc, 4);
    // Ahead of what is stored: 5..7 would be skipped if the jump went unnoticed.
    await fx.jsm.consumers.reset(stream, oc.consumerName, 8);
    await publish(subj, 5, 10);
    got.push(...(await fetchAll(oc, 6)));
    oc.stop();
    expect(got.map((m) => m.seq)).toEqual(range(1, 10));
    expect(oc.resets).toBe(1);
  });

  itSince(
    '2.14.0',
    'a reset without a sequence while consume() reads: in order, once',
    async () => {
      const { stream, subj } = await fx.stream();
      await publish(subj, 1, 5);
      const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 1000 });
      const got: number[] = [];
      const messages = oc.consume({ callback: (m) => void got.push(m.seq) });
      await until(() => got.length === 5);
      await fx.jsm.consumers.reset(stream, oc.consumerName);
      await publish(subj, 6, 12);
      await until(() => got.length >= 12);
      await new Promise((r) => setTimeout(r, 200)); // anything delivered twice would show now
      messages.stop();
      oc.stop();
      expect(got).toEqual(range(1, 12));
    },
  );
});
