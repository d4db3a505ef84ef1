// Batch and multi-last direct get (ADR-31): pages until Nats-Num-Pending is 0 on 2.11+, one get
// per message (or subject) on older servers and on streams without direct get.
import { FeatureNotSupportedError } from '../../lib/core/index.js';
import type { StoredMsg } from '../../lib/jetstream/index.js';
import { itBefore, itSince, serverAtLeast } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

async function all(it: AsyncIterable<StoredMsg>): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  for await (const m of it) out.push(m);
  return out;
}

/** Counts the direct-get requests sent while `run` runs. */
async function directGets(run: () => Promise<unknown>): Promise<number> {
  const spy = await fx.connect();
  let n = 0;
  spy.subscribe('$JS.API.DIRECT.GET.>', { callback: () => void n++ });
  await spy.flush();
  await run();
  await fx.nc.flush();
  await spy.flush();
  return n;
}

async function filled(allowDirect: boolean): Promise<{ stream: string; subj: string }> {
  const s = await fx.stream({ allowDirect });
  for (let i = 1; i <= 25; i++)
    await fx.js.publish(`${s.subj}.${i % 2 ? 'odd' : 'even'}`, `${i}`, { headers: { i: `${i}` } });
  await fx.jsm.streams.deleteMessage(s.stream, 3);
  return s;
}

describe('streams.getBatch()', () => {
  it('reads every message from seq, page by page, skipping deleted ones', async () => {
    const { stream } = await filled(true);
    let msgs: StoredMsg[] = [];
    const requests = await directGets(async () => {
      msgs = await all(fx.jsm.streams.getBatch(stream, { batch: 10 }));
    });
    expect(msgs.map((m) => m.seq)).toEqual([1, 2, ...Array.from({ length: 22 }, (_, i) => i + 4)]);
    expect(msgs[0].headers?.get('i')).toBe('1');
    expect(msgs[0].headers?.has('Nats-Num-Pending')).toBe(false);
    expect(requests).toBe(serverAtLeast('2.11.0') ? 3 : 25);
  });

  it('filters on a subject and starts at seq', async () => {
    const { stream, subj } = await filled(true);
    const msgs = await all(
      fx.jsm.streams.getBatch(stream, { seq: 10, subject: `${subj}.even`, batch: 2 }),
    );
    expect(msgs.map((m) => m.string())).toEqual(['10', '12', '14', '16', '18', '20', '22', '24']);
  });

  it('reads a stream without direct get one message at a time', async () => {
    const { stream } = await filled(false);
    const msgs = await all(fx.jsm.streams.getBatch(stream, { seq: 20 }));
    expect(msgs.map((m) => m.seq)).toEqual([20, 21, 22, 23, 24, 25]);
  });

  itSince('2.11.0', 'starts at startTime', async () => {
    const { stream, subj } = await fx.stream({ allowDirect: true });
    await fx.js.publish(`${subj}.a`, 'old');
    await new Promise((r) => setTimeout(r, 50));
    const t = new Date();
    await fx.js.publish(`${subj}.a`, 'new');
    const msgs = await all(fx.jsm.streams.getBatch(stream, { startTime: t }));
    expect(msgs.map((m) => m.string())).toEqual(['new']);
  });

  itBefore('2.11.0', 'refuses startTime below nats-server 2.11', async () => {
    const { stream } = await fx.stream({ allowDirect: true });
    const it = fx.jsm.streams.getBatch(stream, { startTime: new Date() });
    await expect(all(it)).rejects.toBeInstanceOf(FeatureNotSupportedError);
  });
});

describe('streams.getLast()', () => {
  it('reads the last message of each subject in stream order, page by page', async () => {
    const { stream, subj } = await filled(true);
    await fx.js.publish(`${subj}.x.y`, 'deep');
    const msgs = await all(fx.jsm.streams.getLast(stream, [`${subj}.*`], { batch: 1 }));
    expect(msgs.map((m) => [m.subject, m.string()])).toEqual([
      [`${subj}.even`, '24'],
      [`${subj}.odd`, '25'],
    ]);
    const two = await all(
      fx.jsm.streams.getLast(stream, [`${subj}.odd`, `${subj}.x.y`, `${subj}.none`]),
    );
    expect(two.map((m) => m.string())).toEqual(['25', 'deep']);
    expect(await all(fx.jsm.streams.getLast(stream, [`${subj}.none`]))).toEqual([]);
  });

  itSince('2.11.0', 'reads the subjects as they were at upToSeq', async () => {
    const { stream, subj } = await filled(true);
    const msgs = await all(fx.jsm.streams.getLast(stream, [`${subj}.>`], { upToSeq: 10 }));
    expect(msgs.map((m) => m.string())).toEqual(['9', '10']);
  });

  itBefore('2.11.0', 'refuses upToSeq below nats-server 2.11', async () => {
    const { stream, subj } = await filled(true);
    const it = fx.jsm.streams.getLast(stream, [`${subj}.>`], { upToSeq: 10 });
    await expect(all(it)).rejects.toBeInstanceOf(FeatureNotSupportedError);
  });
});
