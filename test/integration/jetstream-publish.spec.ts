// js.publish() against a real JetStream server.
import {
  ConnectionClosedError,
  JetStreamApiError,
  MaxPayloadError,
  type Msg,
  NatsError,
  NoRespondersError,
  TimeoutError,
} from '../../lib/core/index.js';
import { jetstream, NoStreamForSubjectError } from '../../lib/jetstream/index.js';
import { itBefore, itSince } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('js.publish()', () => {
  it('resolves a PubAck with the stream and sequence', async () => {
    const { stream, subj } = await fx.stream();
    const a = await fx.js.publish(`${subj}.a`, 'one');
    const b = await fx.js.publish(`${subj}.b`, new Uint8Array([1, 2]));
    expect(a).toEqual({ stream, seq: 1, duplicate: false });
    expect(b.seq).toBe(2);
  });

  it('runs many publishes in flight at once', async () => {
    const { stream, subj } = await fx.stream();
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fx.js.publish(`${subj}.x`, String(i))),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200);
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(200);
  });

  it('keeps a window of thousands in flight, answered through one shared reply inbox', async () => {
    const { stream, subj } = await fx.stream();
    const replies: string[] = [];
    const spy = await fx.connect();
    spy.subscribe(`${subj}.>`, { callback: (m) => void replies.push(m.reply ?? '') });
    await spy.flush();
    const n = 5000;
    const acks = await Promise.all(
      Array.from({ length: n }, (_, i) => fx.js.publish(`${subj}.w`, String(i))),
    );
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(n);
    await spy.flush();
    expect(replies).toHaveLength(n);
    expect(new Set(replies).size).toBe(n);
    const inboxes = new Set(replies.map((r) => r.slice(0, r.lastIndexOf('.'))));
    expect([...inboxes]).toHaveLength(1);
    expect([...inboxes][0]).toMatch(/^_INBOX\./);
  });

  it('de-duplicates by msgId and sends the exact Nats-Msg-Id header', async () => {
    const { stream, subj } = await fx.stream();
    const seen: Msg[] = [];
    fx.nc.subscribe(`${subj}.>`, { callback: (m) => void seen.push(m) });
    const first = await fx.js.publish(`${subj}.d`, 'x', { msgId: 'id-1' });
    const again = await fx.js.publish(`${subj}.d`, 'x', { msgId: 'id-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ stream, seq: first.seq, duplicate: true });
    expect(seen[0].headers?.keys()).toContain('Nats-Msg-Id');
  });

  it('keeps user headers next to the JetStream ones without changing the caller object', async () => {
    const { stream, subj } = await fx.stream();
    const headers = { 'X-Trace': 't1' };
    await fx.js.publish(`${subj}.h`, 'x', { headers, msgId: 'm' });
    expect(headers).toEqual({ 'X-Trace': 't1' });
    const stored = await fx.jsm.streams.getMessage(stream, { seq: 1 });
    expect(stored.headers?.get('X-Trace')).toBe('t1');
    expect(stored.headers?.get('Nats-Msg-Id')).toBe('m');
  });

  it('checks expect.stream', async () => {
    const { subj } = await fx.stream();
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { expect: { stream: 'OTHER' } }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(10060);
  });

  it('checks expect.lastSequence', async () => {
    const { subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'x');
    await fx.js.publish(`${subj}.a`, 'x', { expect: { lastSequence: 1 } });
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { expect: { lastSequence: 1 } }));
    expect((err as JetStreamApiError).apiCode).toBe(10071);
    expect((err as JetStreamApiError).status).toBe(400);
  });

  it('checks expect.lastMsgId', async () => {
    const { subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'x', { msgId: 'a1' });
    await fx.js.publish(`${subj}.a`, 'x', { msgId: 'a2', expect: { lastMsgId: 'a1' } });
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { expect: { lastMsgId: 'a1' } }));
    expect((err as JetStreamApiError).apiCode).toBe(10070);
  });

  it('checks expect.lastSubjectSequence, 0 meaning "no message on the subject yet"', async () => {
    const { subj } = await fx.stream();
    const a = await fx.js.publish(`${subj}.k`, 'x', { expect: { lastSubjectSequence: 0 } });
    await fx.js.publish(`${subj}.other`, 'x');
    await fx.js.publish(`${subj}.k`, 'y', { expect: { lastSubjectSequence: a.seq } });
    const err = await rejection(
      fx.js.publish(`${subj}.k`, 'z', { expect: { lastSubjectSequence: 0 } }),
    );
    expect((err as JetStreamApiError).apiCode).toBe(10071);
  });

  it('reports a subject no stream captures as NoStreamForSubjectError (a NoRespondersError)', async () => {
    const started = Date.now();
    const err = await rejection(fx.js.publish('nobody.home', 'x', { retries: 1, retryWait: 50 }));
    expect(err).toBeInstanceOf(NoStreamForSubjectError);
    expect(err).toBeInstanceOf(NoRespondersError);
    expect((err as Error).message).toMatch(/no stream matches subject nobody\.home/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('times out with TimeoutError when the ack never comes', async () => {
    fx.nc.subscribe('silent.subject', { callback: () => undefined });
    await fx.nc.flush();
    const err = await rejection(fx.js.publish('silent.subject', 'x', { timeout: 100 }));
    expect(err).toBeInstanceOf(TimeoutError);
  });

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
