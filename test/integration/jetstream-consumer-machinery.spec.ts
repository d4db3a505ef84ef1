// The decisions of consume() and of ordered consumers, watched on the wire of a real server:
// when consume() pulls again and for how much, when a silent pull counts as gone, and when an
// ordered consumer recreates itself after missed heartbeats.
import type { JsMsg, PullConsumer } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

/** A durable pull consumer on a stream holding `count` messages, and the pulls sent to it. */
async function pulled(count: number): Promise<{ c: PullConsumer; batches: number[] }> {
  const { stream, subj } = await fx.stream();
  await Promise.all(Array.from({ length: count }, (_, i) => fx.js.publish(`${subj}.m`, `${i}`)));
  await fx.jsm.consumers.add(stream, { durableName: 'c', ackPolicy: 'none' });
  const batches: number[] = [];
  const spy = await fx.connect();
  spy.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${stream}.c`, {
    callback: (m) => void batches.push(m.json<{ batch: number }>().batch),
  });
  await spy.flush();
  return { c: await fx.js.consumers.get(stream, 'c'), batches };
}

describe('consume() pulls', () => {
  it('pulls maxMessages, then the half that was read once the buffer falls to half', async () => {
    const { c, batches } = await pulled(100);
    const cm = c.consume({ maxMessages: 10 });
    await until(() => cm.buffered === 10);
    expect(batches).toEqual([10]);
    const it = cm[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) await it.next();
    await sleep(100);
    expect(batches).toEqual([10]); // 6 buffered: above half
    await it.next();
    await until(() => batches.length === 2);
    expect(batches).toEqual([10, 5]); // 5 buffered: pull what was read
    await until(() => cm.buffered === 10);
    cm.stop();
  });

  it('counts a pull the server stays silent about as gone after two heartbeats, not before', async () => {
    const { c, batches } = await pulled(0);
    const cm = c.consume({ expires: 10_000, idleHeartbeat: 300 });
    await until(() => batches.length === 1);
    await fx.server.freeze();
    const frozenAt = Date.now();
    await sleep(500);
    expect(cm.missedHeartbeats).toBe(0); // less than two heartbeats
    await until(() => cm.missedHeartbeats === 1, 2000);
    expect(Date.now() - frozenAt).toBeGreaterThan(600);
    fx.server.thaw();
    await until(() => batches.length >= 2, 5000); // pulled again
    cm.stop();
  });

  it('keeps a pull that hears heartbeats alive while nothing is delivered', async () => {
    const { c, batches } = await pulled(0);
    const cm = c.consume({ expires: 10_000, idleHeartbeat: 200 });
    await sleep(1500);
    expect(cm.missedHeartbeats).toBe(0);
    expect(batches).toEqual([500]); // the default maxMessages, pulled at once
    cm.stop();
  });
});

describe('ordered consumer heartbeats', () => {
  it('recreates the consumer after three missed heartbeats and goes on in order', async () => {
    const { stream, subj } = await fx.stream();
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 300 });
    const got: number[] = [];
    const reading = (async () => {
      for await (const m of oc as AsyncIterable<JsMsg>) {
        got.push(m.seq);
        if (m.seq === 2) break;
      }
    })();
    await fx.js.publish(`${subj}.a`, '1');
    await until(() => got.length === 1);
    const first = oc.consumerName;
    await fx.server.freeze();
    await sleep(700); // two heartbeats: not yet
    expect(oc.resets).toBe(0);
    await sleep(900);
    fx.server.thaw();
    await until(() => oc.resets >= 1, 5000);
    await fx.js.publish(`${subj}.a`, '2');
    await reading;
    expect(got).toEqual([1, 2]);
    expect(oc.consumerName).not.toBe(first);
  });
});
