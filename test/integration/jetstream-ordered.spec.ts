// Ordered consumers: in-order, gap-free reading that recreates its consumer by itself.
import { InvalidOptionError } from '../../lib/core/index.js';
import { jetstream, type JsMsg } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

async function until(check: () => boolean, ms = 4000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end;) await sleep(10);
}

describe('ordered consumers', () => {
  it('reads a stream in order with an iterator, without acks', async () => {
    const { stream, subj } = await fx.stream();
    await Promise.all(Array.from({ length: 100 }, (_, i) => fx.js.publish(`${subj}.a`, `${i}`)));
    const oc = await fx.js.consumers.ordered(stream);
    const got: number[] = [];
    for await (const m of oc) {
      got.push(m.seq);
      if (m.metadata.numPending === 0) break;
    }
    oc.stop();
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const info = await fx.jsm.streams.info(stream);
    expect(info.state.messages).toBe(100);
  });

  it('js.subscribe({ ordered }) filters on the subject and honours deliverPolicy', async () => {
    const { subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'a1');
    await fx.js.publish(`${subj}.b`, 'b1');
    await fx.js.publish(`${subj}.a`, 'a2');
    const got: string[] = [];
    const oc = await fx.js.subscribe(`${subj}.a`, {
      ordered: true,
      deliverPolicy: 'last',
      callback: (m) => void got.push(m.string()),
    });
    await until(() => got.length === 1);
    await fx.js.publish(`${subj}.a`, 'a3');
    await until(() => got.length === 2);
    oc.stop();
    expect(got).toEqual(['a2', 'a3']);
  });

  it('recreates a deleted consumer from the last sequence seen, without gaps or repeats', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const got: JsMsg[] = [];
    const oc = await fx.js.consumers.ordered(stream, {
      idleHeartbeat: 150,
      callback: (m) => void got.push(m),
    });
    await until(() => got.length === 5);
    const first = oc.consumerName;
    await fx.jsm.consumers.delete(stream, first);
    for (let i = 5; i < 10; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    await until(() => got.length === 10);
    oc.stop();
    expect(got.map((m) => m.string())).toEqual(Array.from({ length: 10 }, (_, i) => `${i}`));
    expect(oc.resets).toBeGreaterThanOrEqual(1);
    expect(got[9].metadata.consumer).not.toBe(first);
    expect(got[9].metadata.sequence.consumer).toBe(5);
  });

  it('starts over on a stream that was deleted and created again, even one longer than before', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.a`, `old${i}`);
    const got: string[] = [];
    const oc = await fx.js.consumers.ordered(stream, {
      idleHeartbeat: 100,
      callback: (m) => void got.push(`${m.seq}:${m.string()}`),
    });
    await until(() => got.length === 3);
    await fx.jsm.streams.delete(stream);
    await fx.jsm.streams.add({ name: stream, subjects: [`${subj}.>`], storage: 'memory' });
    // More messages than the old stream had: a resume after sequence 3 would skip new1..new3.
    for (let i = 1; i <= 6; i++) await fx.js.publish(`${subj}.a`, `new${i}`);
    await until(() => got.length === 9, 8000);
    oc.stop();
    expect(got).toEqual([
      ...['1:old0', '2:old1', '3:old2'],
      ...[1, 2, 3, 4, 5, 6].map((i) => `${i}:new${i}`),
    ]);
  }, 15_000);

  it('refuses an idle heartbeat that is not a usable number of ms', async () => {
    const { stream } = await fx.stream();
    for (const idleHeartbeat of [0, -5, Number.NaN, Infinity]) {
      await expect(fx.js.consumers.ordered(stream, { idleHeartbeat })).rejects.toBeInstanceOf(
        InvalidOptionError,
      );
    }
  });

  it('answers flow control while a slow iterator reads large messages', async () => {
    const { stream, subj } = await fx.stream();
    const payload = new Uint8Array(128 * 1024);
    await Promise.all(Array.from({ length: 150 }, () => fx.js.publish(`${subj}.big`, payload)));
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 1000 });
    let n = 0;
    for await (const m of oc) {
      n++;
      if (n % 50 === 0) await sleep(20);
      if (m.metadata.numPending === 0) break;
    }
    oc.stop();
    expect(n).toBe(150);
    expect(oc.resets).toBe(0);
  });

  it('resumes after a server restart', async () => {
    const nc = await fx.connect({ reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    const { stream, subj } = await fx.stream({ storage: 'file' });
    await fx.js.publish(`${subj}.a`, 'before');
    const js = jetstream(nc);
    const got: string[] = [];
    const oc = await js.consumers.ordered(stream, { callback: (m) => void got.push(m.string()) });
    await until(() => got.length === 1);
    await fx.server.restart();
    for (let i = 0; !nc.isConnected && i < 100; i++) await sleep(50);
    await js.publish(`${subj}.a`, 'after', { timeout: 3000, retries: 10 });
    await until(() => got.length === 2, 6000);
    oc.stop();
    expect(got).toEqual(['before', 'after']);
  }, 15_000);

  it('messages deleted in the middle of the stream while reading: no reset, the rest in order', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 500 });
    const got: string[] = [];
    for await (const m of oc) {
      got.push(m.string());
      if (got.length === 2) {
        await fx.jsm.streams.deleteMessage(stream, 5);
        await fx.jsm.streams.deleteMessage(stream, 6);
        for (let i = 10; i < 12; i++) await fx.js.publish(`${subj}.a`, `${i}`);
      }
      if (m.string() === '11') break;
    }
    oc.stop();
    // Messages 2..9 were probably already pushed before the delete; either way no repeats, order kept.
    const nums = got.map(Number);
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
    expect(new Set(nums).size).toBe(nums.length);
    expect(nums.at(-1)).toBe(11);
  });

  it('keeps delivering new messages after the stream is purged', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const got: string[] = [];
    const oc = await fx.js.consumers.ordered(stream, {
      idleHeartbeat: 300,
      callback: (m) => void got.push(m.string()),
    });
    await sleep(200);
    await fx.jsm.streams.purge(stream);
    await fx.js.publish(`${subj}.a`, 'after');
    await sleep(300);
    oc.stop();
    expect(got).toEqual(['0', '1', '2', 'after']);
  });

  it('breaking out of a for-await over an ordered consumer removes its consumer', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const oc = await fx.js.consumers.ordered(stream);
    for await (const m of oc) {
      void m;
      break;
    }
    await sleep(300);
    const names = await collect(fx.jsm.consumers.names(stream));
    const closed = await Promise.race([
      oc.closed.then(() => 'closed'),
      sleep(50).then(() => 'open'),
    ]);
    oc.stop();
    expect({ closed, consumers: names.length }).toEqual({ closed: 'closed', consumers: 0 });
  });
});
