// JsMsg acknowledgements, proven on the server: redelivery, delays, progress, term, limits.
import { connect, type Msg, NatsError, TimeoutError } from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JsMsg,
  type PullConsumer,
} from '../../lib/jetstream/index.js';
import { parseAckSubject } from '../../lib/jetstream/internal.js';
import { TERM_REASON_SINCE } from '../../lib/jetstream/jsmsg.js';
import { itBefore, itSince, startServer } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { rejection } from './kv-helpers.js';

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

async function one(
  ackWait = 30_000,
): Promise<{ stream: string; subj: string; m: JsMsg; next: () => Promise<JsMsg | null> }> {
  const { stream, subj } = await fx.stream();
  await fx.js.publish(`${subj}.a`, 'x');
  await fx.jsm.consumers.add(stream, { durableName: 'c', ackWait });
  const c = await fx.js.consumers.get(stream, 'c');
  const m = (await c.next({ timeout: 1000 }))!;
  return { stream, subj, m, next: () => c.next({ timeout: 400 }) };
}

/**
 * Terms a fresh message with `reason` and proves it is not delivered again; resolves the
 * MSG_TERMINATED advisory and the ack bodies seen on the wire.
 */
async function termWatched(
  reason: string,
): Promise<{ event: { reason?: string; stream_seq: number }; seen: string[] }> {
  const seen = await spyAcks();
  const c = await setup();
  const spy = await fx.connect();
  const advisory = spy.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${c.stream}.c`, {
    max: 1,
  });
  await spy.flush();
  const [m] = await c.fetch(1, { timeout: 1000 });
  m.term(reason);
  expect(m.isAcked).toBe(true);
  const event = (await advisory.nextMsg(3000)).json<{ reason?: string; stream_seq: number }>();
  await sleep(700);
  expect(await c.fetch(1, { timeout: 200 })).toEqual([]);
  expect((await c.info()).numAckPending).toBe(0);
  return { event, seen };
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
      const { event, seen } = await termWatched('bad payload');
      expect(event).toMatchObject({ reason: 'bad payload', stream_seq: 1 });
      expect(seen).toEqual(['+TERM bad payload']);
    },
  );

  itSince(
    TERM_REASON_SINCE,
    'term(reason) with a reason longer than max_payload still terms, the reason cut to fit',
    async () => {
      // A stack trace or a JSON dump can be that long; multi-byte text must not be split.
      const { event, seen } = await termWatched('é'.repeat(fx.nc.maxPayload));
      expect(event.reason).toMatch(/^(é)+\.\.\. \(truncated\)$/);
      expect(seen).toHaveLength(1);
      expect(seen[0].startsWith('+TERM éé')).toBe(true);
      expect(Buffer.byteLength(seen[0])).toBeLessThanOrEqual(fx.nc.maxPayload);
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

  it('ack() after nak() is ignored: the message is redelivered', async () => {
    const { m, next } = await one();
    m.nak();
    m.ack();
    expect(m.isAcked).toBe(true);
    const again = await next();
    expect(again?.metadata.numDelivered).toBe(2);
    again!.ack();
  });

  it.each([[-5], [Number.NaN], [0]])(
    'nak(%p) acts as a plain nak (redelivered at once)',
    async (d) => {
      const { m, next } = await one();
      m.nak(d);
      const again = await next();
      expect(again?.metadata.numDelivered).toBe(2);
    },
  );

  it('nak(1.5) with a fractional delay still delays redelivery', async () => {
    const { m, next } = await one();
    m.nak(600.5);
    expect(await next()).toBeNull();
    await sleep(400);
    expect((await next())?.metadata.numDelivered).toBe(2);
  });

  it('nak(Infinity) is refused or treated sanely (never sends invalid JSON)', async () => {
    const { m, next } = await one();
    let threw: unknown;
    try {
      m.nak(Number.POSITIVE_INFINITY);
    } catch (e) {
      threw = e;
    }
    if (threw === undefined) {
      // Sent something: the server must have understood it as a NAK (redelivery, now or later);
      // it must not be left pending until ackWait.
      const again = await next();
      expect(again?.metadata.numDelivered).toBe(2);
    } else expect(threw).toBeInstanceOf(NatsError);
  });

  it('term(reason) on 2.9.10 stops redelivery', async () => {
    const { stream, m } = await one(500);
    m.term('bad payload');
    await sleep(800);
    const info = await fx.jsm.consumers.info(stream, 'c');
    expect(info.numAckPending).toBe(0);
    expect(info.numRedelivered).toBe(0);
  });

  it('inProgress() repeated many times keeps the message and never counts as ack', async () => {
    const { stream, m, next } = await one(600);
    for (let i = 0; i < 5; i++) {
      m.inProgress();
      await sleep(250);
    }
    expect(m.isAcked).toBe(false);
    expect((await fx.jsm.consumers.info(stream, 'c')).numRedelivered).toBe(0);
    m.ack();
    expect(await next()).toBeNull();
  });

  it('double ackSync(): the second resolves, one ack sent', async () => {
    const { stream, m } = await one();
    await m.ackSync();
    await m.ackSync();
    expect((await fx.jsm.consumers.info(stream, 'c')).numAckPending).toBe(0);
  });

  it('ackSync() rejects with TimeoutError (and stays un-acked) when the server is gone', async () => {
    const srv = await startServer({ jetstream: true });
    const nc = await connect({
      servers: srv.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await jsm.streams.add({ name: 'K', subjects: ['k.>'], storage: 'memory' });
      await js.publish('k.a', 'x');
      await jsm.consumers.add('K', { durableName: 'c' });
      const m = (await (await js.consumers.get('K', 'c')).next({ timeout: 1000 }))!;
      await srv.kill('SIGKILL');
      const started = Date.now();
      const err = await rejection(m.ackSync(500));
      expect(Date.now() - started).toBeLessThan(1500);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(m.isAcked).toBe(false);
    } finally {
      await nc.close();
      await srv.stop();
    }
  });

  it('ack() on an ordered-consumer message does not throw and does not disturb the consumer', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const oc = await fx.js.consumers.ordered(stream);
    const got: string[] = [];
    for await (const m of oc) {
      m.ack();
      m.nak();
      m.term();
      got.push(m.string());
      if (got.length === 3) break;
    }
    oc.stop();
    expect(got).toEqual(['0', '1', '2']);
    expect(oc.resets).toBe(0);
  });

  it('parses ack subjects: 9 tokens, 11+ tokens with domain, rejects 10 tokens', () => {
    const v1 = parseAckSubject('$JS.ACK.S.C1.2.10.7.1795699945368146127.4');
    expect(v1).toMatchObject({
      stream: 'S',
      consumer: 'C1',
      domain: '',
      numDelivered: 2,
      sequence: { stream: 10, consumer: 7 },
      numPending: 4,
      timestampNanos: 1795699945368146127n,
    });
    expect(v1.timestamp.getTime()).toBe(1795699945368);
    const v2 = parseAckSubject('$JS.ACK.hub.HASH.S.C1.1.2.3.1795699945368146127.0.extra');
    expect(v2).toMatchObject({ domain: 'hub', accountHash: 'HASH', stream: 'S', numPending: 0 });
    expect(parseAckSubject('$JS.ACK._.HASH.S.C.1.2.3.4.5').domain).toBe('');
    expect(() => parseAckSubject('$JS.ACK.S.C.1.2.3.4.5.6')).toThrow();
    expect(() => parseAckSubject('$JS.ACK.S.C.1.2.x.4.5')).toThrow();
    expect(() => parseAckSubject('$JS.NAK.S.C.1.2.3.4.5')).toThrow();
  });
});
