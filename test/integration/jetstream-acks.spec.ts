// JsMsg acknowledgements, proven on the server: redelivery, delays, progress, term, limits.
import type { Msg } from '../../lib/core/index.js';
import type { ConsumerConfig, PullConsumer } from '../../lib/jetstream/index.js';
import { TERM_REASON_SINCE } from '../../lib/jetstream/jsmsg.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

/** A stream holding `count` messages and a pull consumer on it. */
async function setup(config: ConsumerConfig = {}, count = 1): Promise<PullConsumer> {
  const { stream, subj } = await fx.stream();
  for (let i = 0; i < count; i++) await fx.js.publish(`${subj}.m`, `m${i}`);
  await fx.jsm.consumers.add(stream, { durableName: 'c', ackWait: 500, ...config });
  return fx.js.consumers.get(stream, 'c');
}

/** Records every ack body published by any client, from a second connection. */
async function spyAcks(): Promise<string[]> {
  const seen: string[] = [];
  const spy = await fx.connect();
  spy.subscribe('$JS.ACK.>', { callback: (m: Msg) => void seen.push(m.string()) });
  await spy.flush();
  return seen;
}

describe('JsMsg acks', () => {
  it('exposes metadata from the ack subject', async () => {
    const c = await setup({}, 2);
    const [m] = await c.fetch(1, { timeout: 1000 });
    expect(m.metadata).toMatchObject({
      stream: c.stream,
      consumer: 'c',
      domain: '',
      sequence: { stream: 1, consumer: 1 },
      numDelivered: 1,
      numPending: 1,
    });
    expect(Math.abs(m.metadata.timestamp.getTime() - Date.now())).toBeLessThan(5000);
    expect(m.seq).toBe(1);
    expect(m.string()).toBe('m0');
  });

  it('ack() removes the message for good, and a second ack sends nothing', async () => {
    const seen = await spyAcks();
    const c = await setup();
    const [m] = await c.fetch(1, { timeout: 1000 });
    expect(m.isAcked).toBe(false);
    m.ack();
    m.ack();
    m.nak();
    m.term();
    m.inProgress();
    expect(m.isAcked).toBe(true);
    await fx.nc.flush();
    await sleep(700);
    expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
    expect(seen).toEqual(['+ACK']);
    expect((await c.info()).numAckPending).toBe(0);
  });

  it('brings an unacked message back after ackWait, counting deliveries', async () => {
    const c = await setup();
    const [first] = await c.fetch(1, { timeout: 1000 });
    expect(first.metadata.numDelivered).toBe(1);
    const started = Date.now();
    const [again] = await c.fetch(1, { timeout: 2000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(again.seq).toBe(first.seq);
    expect(again.metadata.numDelivered).toBe(2);
    expect(again.metadata.sequence.consumer).toBe(2);
    expect((await c.info()).numRedelivered).toBe(1);
  });

  it('nak(delay) redelivers only after the delay, sending -NAK {"delay": ns}', async () => {
    const seen = await spyAcks();
    const c = await setup({ ackWait: 5000 });
    const [m] = await c.fetch(1, { timeout: 1000 });
    const started = Date.now();
    m.nak(400);
    expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
    const [again] = await c.fetch(1, { timeout: 2000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(again.metadata.numDelivered).toBe(2);
    expect(seen).toEqual(['-NAK {"delay": 400000000}']);
  });

  it('nak() without delay redelivers at once', async () => {
    const c = await setup({ ackWait: 5000 });
    const [m] = await c.fetch(1, { timeout: 1000 });
    m.nak();
    const started = Date.now();
    const [again] = await c.fetch(1, { timeout: 1000 });
    expect(Date.now() - started).toBeLessThan(300);
    expect(again.metadata.numDelivered).toBe(2);
  });

  it('inProgress() extends the ack wait and can repeat', async () => {
    const seen = await spyAcks();
    const c = await setup();
    const [m] = await c.fetch(1, { timeout: 1000 });
    for (let i = 0; i < 4; i++) {
      await sleep(250);
      m.inProgress();
    }
    // 1 s after delivery, twice the ack wait: still not redelivered.
    expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
    m.ack();
    await sleep(600);
    expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
    expect(seen).toEqual(['+WPI', '+WPI', '+WPI', '+WPI', '+ACK']);
  });

  itBefore(
    TERM_REASON_SINCE,
    'term(reason) stops redelivery, sending a bare +TERM to a server that ignores reasons',
    async () => {
      const seen = await spyAcks();
      const c = await setup();
      const [m] = await c.fetch(1, { timeout: 1000 });
      m.term('bad payload');
      await sleep(700);
      expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
      expect(seen).toEqual(['+TERM']);
      expect((await c.info()).numAckPending).toBe(0);
    },
  );

  itSince(
    TERM_REASON_SINCE,
    'term(reason) stops redelivery and the reason reaches the terminated advisory',
    async () => {
      const seen = await spyAcks();
      const c = await setup();
      const spy = await fx.connect();
      const advisory = spy.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${c.stream}.c`, {
        max: 1,
      });
      await spy.flush();
      const [m] = await c.fetch(1, { timeout: 1000 });
      m.term('bad payload');
      const event = (await advisory.nextMsg(3000)).json<{ reason?: string; stream_seq: number }>();
      expect(event).toMatchObject({ reason: 'bad payload', stream_seq: 1 });
      await sleep(700);
      expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
      expect(seen).toEqual(['+TERM bad payload']);
      expect((await c.info()).numAckPending).toBe(0);
    },
  );

  it('term() without a reason sends a bare +TERM on every server', async () => {
    const seen = await spyAcks();
    const c = await setup();
    const [m] = await c.fetch(1, { timeout: 1000 });
    m.term();
    await sleep(700);
    expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
    expect(seen).toEqual(['+TERM']);
  });

  it('maxDeliver stops redelivery', async () => {
    const c = await setup({ maxDeliver: 2 });
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const batch = await c.fetch(1, { timeout: 800 });
      got.push(...batch.map((m) => m.metadata.numDelivered));
    }
    expect(got).toEqual([1, 2]);
  });

  it('ackSync() resolves once the server processed the ack', async () => {
    const c = await setup({}, 2);
    const [m] = await c.fetch(1, { timeout: 1000 });
    await m.ackSync();
    expect(m.isAcked).toBe(true);
    await m.ackSync();
    const info = await c.info();
    expect(info.ackFloor.streamSeq).toBe(1);
    expect(info.numAckPending).toBe(0);
  });
});
