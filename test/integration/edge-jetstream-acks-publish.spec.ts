// Edge cases: JsMsg acks and js.publish() edge cases against a real nats-server.
import {
  ConnectionClosedError,
  JetStreamApiError,
  MaxPayloadError,
  NatsError,
  NoRespondersError,
  TimeoutError,
  connect,
} from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  parseAckSubject,
  type JsMsg,
} from '../../lib/jetstream/internal.js';
import { itBefore, itSince, startServer } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

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

describe('JsMsg acks', () => {
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

describe('js.publish()', () => {
  it('a msgId outside the duplicate window is stored again', async () => {
    const { stream, subj } = await fx.stream({ duplicateWindow: 200 });
    const a = await fx.js.publish(`${subj}.a`, '1', { msgId: 'id' });
    const dup = await fx.js.publish(`${subj}.a`, '2', { msgId: 'id' });
    expect(dup).toMatchObject({ seq: a.seq, duplicate: true });
    await sleep(1200);
    const b = await fx.js.publish(`${subj}.a`, '3', { msgId: 'id' });
    expect(b.duplicate).toBe(false);
    expect(b.seq).toBe(a.seq + 1);
    expect((await fx.jsm.streams.info(stream)).config.duplicateWindow).toBe(200);
  });

  it.each([
    ['stream', { stream: 'WRONG' }, 10060],
    ['lastSequence', { lastSequence: 99 }, 10071],
    ['lastMsgId', { lastMsgId: 'nope' }, 10070],
    ['lastSubjectSequence', { lastSubjectSequence: 99 }, 10071],
  ])('expect.%s mismatch rejects with JetStreamApiError apiCode', async (_n, expect_, code) => {
    const { stream, subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'x', { msgId: 'm1' });
    const err = await rejection(fx.js.publish(`${subj}.a`, 'y', { expect: expect_ }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(code);
    expect((err as JetStreamApiError).status).toBe(400);
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(1);
  });

  it('a payload over max_payload rejects with MaxPayloadError, fast, and sends nothing', async () => {
    const { stream, subj } = await fx.stream();
    const big = new Uint8Array(fx.nc.maxPayload + 1);
    const started = Date.now();
    const err = await rejection(fx.js.publish(`${subj}.a`, big));
    expect(Date.now() - started).toBeLessThan(500);
    expect(err).toBeInstanceOf(MaxPayloadError);
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(0);
  });

  it('a message over the stream maxMsgSize rejects with JetStreamApiError 10054', async () => {
    const { subj } = await fx.stream({ maxMsgSize: 10 });
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x'.repeat(50)));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(10054);
  });

  it('a full stream with discard new rejects with a JetStreamApiError', async () => {
    const { subj } = await fx.stream({ maxMsgs: 1, discard: 'new' });
    await fx.js.publish(`${subj}.a`, 'x');
    const err = await rejection(fx.js.publish(`${subj}.a`, 'y'));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBeGreaterThan(10000);
  });

  it('no stream for the subject: NoRespondersError within about a second, no timeout', async () => {
    const started = Date.now();
    const err = await rejection(fx.js.publish('nobody.listens.here', 'x', { timeout: 10_000 }));
    expect(err).toBeInstanceOf(NoRespondersError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('every one of many in-flight publishes settles when the connection closes', async () => {
    const nc = await fx.connect();
    const js = jetstream(nc);
    const { subj } = await fx.stream();
    const ps = Array.from({ length: 3000 }, (_, i) => js.publish(`${subj}.a`, `${i}`));
    await nc.close();
    const results = await Promise.race([
      Promise.allSettled(ps),
      sleep(5000).then(() => 'hung' as const),
    ]);
    expect(results).not.toBe('hung');
    const rs = results as PromiseSettledResult<unknown>[];
    for (const r of rs) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(NatsError);
    }
    expect(
      rs.some((r) => r.status === 'rejected' && r.reason instanceof ConnectionClosedError),
    ).toBe(rs.some((r) => r.status === 'rejected'));
  });

  itBefore(
    '2.12.0',
    'headers: msgId and expect together: the duplicate is found first',
    async () => {
      const { subj } = await fx.stream();
      const a = await fx.js.publish(`${subj}.a`, '1', { msgId: 'x1', expect: { lastSequence: 0 } });
      expect(a.seq).toBe(1);
      // Before 2.12 the duplicate is detected before the expectation is checked.
      const d = await fx.js.publish(`${subj}.a`, '1', { msgId: 'x1', expect: { lastSequence: 0 } });
      expect(d).toMatchObject({ seq: 1, duplicate: true });
    },
  );

  itSince(
    '2.12.0',
    'headers: msgId and expect together: the expectation is checked first',
    async () => {
      const { stream, subj } = await fx.stream();
      const a = await fx.js.publish(`${subj}.a`, '1', { msgId: 'x1', expect: { lastSequence: 0 } });
      expect(a.seq).toBe(1);
      // 2.12+ checks the sequence expectation before the duplicate window: a retry that repeats
      // a now-stale expectation is refused (10071), one that matches is reported as a duplicate.
      const err = await rejection(
        fx.js.publish(`${subj}.a`, '1', { msgId: 'x1', expect: { lastSequence: 0 } }),
      );
      expect(err).toBeInstanceOf(JetStreamApiError);
      expect(err).toMatchObject({ apiCode: 10071, message: 'wrong last sequence: 1' });
      const d = await fx.js.publish(`${subj}.a`, '1', { msgId: 'x1', expect: { lastSequence: 1 } });
      expect(d).toMatchObject({ seq: 1, duplicate: true });
      expect((await fx.jsm.streams.info(stream)).state.messages).toBe(1);
    },
  );
});
