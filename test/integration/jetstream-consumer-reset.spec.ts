// nats-server 2.14's consumer reset (`$JS.API.CONSUMER.RESET.<stream>.<consumer>`, body
// `{"seq": n}` or empty for the ack floor) moves a consumer back: delivery sequences go
// backwards. An ordered consumer must stay in order without duplicates; the others keep working.
import type { JsMsg } from '../../lib/jetstream/index.js';
import { describeSince } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

interface ResetReply {
  error?: { code: number; description?: string };
  reset_seq?: number;
}

/** Sends the raw reset request (there is no public reset() yet) and checks it was taken. */
async function reset(stream: string, consumer: string, seq?: number): Promise<number> {
  const body = seq === undefined ? undefined : JSON.stringify({ seq });
  const msg = await fx.nc.request(`$JS.API.CONSUMER.RESET.${stream}.${consumer}`, body, {
    timeout: 5000,
  });
  const reply = msg.json<ResetReply>();
  expect(reply.error).toBeUndefined();
  return reply.reset_seq as number;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

async function publish(subj: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await fx.js.publish(`${subj}.m`, `m${i}`);
}

describeSince('2.14.0', 'a consumer reset (2.14)', () => {
  it('makes an ordered consumer recreate itself: no message twice, none lost, in order', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 10);
    const seqs: number[] = [];
    const cseqs: number[] = [];
    const oc = await fx.js.consumers.ordered(stream, {
      callback: (m: JsMsg) => {
        seqs.push(m.seq);
        cseqs.push(m.metadata.sequence.consumer);
      },
    });
    try {
      await until(() => seqs.length === 10);
      const before = oc.resets;
      const name = oc.consumerName;
      expect(await reset(stream, name, 3)).toBe(3);
      await sleep(300);
      await publish(subj, 11, 15);
      await until(() => seqs.length >= 15);
      await sleep(300);
      expect(seqs).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(oc.resets).toBeGreaterThan(before);
      // Read from a recreated consumer, not from the reset one.
      expect(cseqs.slice(10)).toEqual([1, 2, 3, 4, 5]);
      expect(oc.consumerName).not.toBe(name);
    } finally {
      oc.stop();
    }
  });

  it('an ordered consumer reset to its ack floor (empty body) stays in order', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 5);
    const seqs: number[] = [];
    const oc = await fx.js.consumers.ordered(stream, {
      callback: (m: JsMsg) => void seqs.push(m.seq),
    });
    try {
      await until(() => seqs.length === 5);
      await reset(stream, oc.consumerName);
      await publish(subj, 6, 8);
      await until(() => seqs.length >= 8);
      await sleep(300);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      oc.stop();
    }
  });

  it('a pull consumer delivers again from the reset sequence, and acks still work', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 5);
    await fx.jsm.consumers.add(stream, { durableName: 'p' });
    const c = await fx.js.consumers.get(stream, 'p');
    const first = await c.fetch(5, { timeout: 2000 });
    for (const m of first) await m.ackSync();
    expect(first.map((m) => m.metadata.sequence.consumer)).toEqual([1, 2, 3, 4, 5]);
    expect(await reset(stream, 'p', 2)).toBe(2);
    const again = await c.fetch(10, { timeout: 1000 });
    expect(again.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    // The reset starts the consumer sequence over (nats-server 2.14.10) and counts afresh.
    expect(again.map((m) => m.metadata.sequence.consumer)).toEqual([1, 2, 3, 4]);
    expect(again.every((m) => m.metadata.numDelivered === 1)).toBe(true);
    for (const m of again) await m.ackSync();
    const info = await c.info();
    expect(info.numAckPending).toBe(0);
    expect(info.delivered.streamSeq).toBe(5);
  });

  it('consume() goes on across a reset', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 4);
    await fx.jsm.consumers.add(stream, { durableName: 'k' });
    const c = await fx.js.consumers.get(stream, 'k');
    const seqs: number[] = [];
    const cm = c.consume({
      callback: (m: JsMsg) => {
        seqs.push(m.seq);
        m.ack();
      },
    });
    try {
      await until(() => seqs.length === 4);
      await fx.nc.flush();
      await sleep(100);
      await reset(stream, 'k', 1);
      await until(() => seqs.length === 8);
      await publish(subj, 5, 6);
      await until(() => seqs.length === 10);
      expect(seqs).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 5, 6]);
    } finally {
      cm.stop();
    }
  });

  it('a push consumer goes on across a reset', async () => {
    const { stream, subj } = await fx.stream();
    await publish(subj, 1, 3);
    const seqs: number[] = [];
    const sub = await fx.js.subscribe(`${subj}.m`, {
      durable: 'push',
      manualAck: true,
      flowControl: true,
      idleHeartbeat: 500,
      callback: (m: JsMsg) => {
        seqs.push(m.seq);
        m.ack();
      },
    });
    try {
      await until(() => seqs.length === 3);
      await fx.nc.flush();
      await sleep(100);
      await reset(stream, 'push', 2);
      await until(() => seqs.length === 5);
      await publish(subj, 4, 4);
      await until(() => seqs.length === 6);
      expect(seqs).toEqual([1, 2, 3, 2, 3, 4]);
      await sleep(1200);
      expect(sub.missedHeartbeats).toBe(0);
    } finally {
      await sub.destroy();
    }
  });
});
