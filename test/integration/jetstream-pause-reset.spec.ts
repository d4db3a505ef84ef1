// Pausing a consumer (nats-server 2.11+: `consumers.pause/resume`, `pauseUntil` in its config,
// `paused` / `pauseRemaining` in its info) and resetting it to a sequence (2.14+:
// `consumers.reset`). On older servers each fails before anything is sent.
import {
  ConsumerNotFoundError,
  FeatureNotSupportedError,
  InvalidOptionError,
} from '../../lib/core/index.js';
import { describeSince, itBefore } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

async function publish(subj: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await fx.js.publish(`${subj}.m`, `m${i}`);
}

describeSince('2.11.0', 'a paused consumer', () => {
  it('delivers nothing until resumed, and says so in its info', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C' });
    await publish(subj, 3);
    const until = new Date(Date.now() + 60_000);
    const state = await fx.jsm.consumers.pause(stream, 'C', until);
    expect(state.paused).toBe(true);
    expect(Date.parse(state.pauseUntil)).toBe(until.getTime());
    expect(state.pauseRemaining).toBeGreaterThan(50_000);
    expect(state.pauseRemaining).toBeLessThanOrEqual(60_000);
    const info = await fx.jsm.consumers.info(stream, 'C');
    expect(info.paused).toBe(true);
    expect(info.pauseRemaining).toBeGreaterThan(50_000);
    expect(Date.parse(info.config.pauseUntil as string)).toBe(until.getTime());

    const pc = await fx.js.consumers.get(stream, 'C');
    await expect(pc.fetch(3, { timeout: 700 })).resolves.toEqual([]);
    const resumed = await fx.jsm.consumers.resume(stream, 'C');
    expect(resumed.paused).toBe(false);
    expect(resumed.pauseRemaining).toBeUndefined();
    const after = await fx.jsm.consumers.info(stream, 'C');
    expect(after.paused).toBeUndefined();
    const msgs = await pc.fetch(3, { timeout: 2000 });
    expect(msgs.map((m) => m.string())).toEqual(['m0', 'm1', 'm2']);
  });

  it('created with pauseUntil, it resumes by itself once that time passes', async () => {
    const { stream, subj } = await fx.stream();
    const until = new Date(Date.now() + 1500);
    const info = await fx.jsm.consumers.add(stream, { durableName: 'C', pauseUntil: until });
    expect(info.paused).toBe(true);
    expect(Date.parse(info.config.pauseUntil as string)).toBe(until.getTime());
    await publish(subj, 2);
    const pc = await fx.js.consumers.get(stream, 'C');
    const seen: number[] = [];
    const sub = pc.consume({ callback: (m) => void (seen.push(Date.now()), m.ack()) });
    try {
      const end = Date.now() + 6000;
      while (seen.length < 2 && Date.now() < end) await sleep(20);
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBeGreaterThanOrEqual(until.getTime() - 50);
      expect((await fx.jsm.consumers.info(stream, 'C')).paused).toBeUndefined();
    } finally {
      sub.stop();
    }
  });

  it('takes the pause time as RFC 3339 text, and refuses text that is no time', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C' });
    const until = new Date(Date.now() + 60_000).toISOString();
    expect((await fx.jsm.consumers.pause(stream, 'C', until)).paused).toBe(true);
    await expect(fx.jsm.consumers.pause(stream, 'C', 'tomorrow')).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(
      fx.jsm.consumers.pause(stream, 'missing', new Date(Date.now() + 1000)),
    ).rejects.toBeInstanceOf(ConsumerNotFoundError);
  });
});

describeSince('2.14.0', 'a consumer reset (2.14)', () => {
  it('makes a durable deliver again from the sequence it is reset to', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C' });
    await publish(subj, 5);
    const pc = await fx.js.consumers.get(stream, 'C');
    for (const m of await pc.fetch(5, { timeout: 2000 })) await m.ackSync();
    const info = await fx.jsm.consumers.reset(stream, 'C', 2);
    expect(info.resetSeq).toBe(2);
    expect(info.name).toBe('C');
    expect(info.numPending).toBe(4);
    const again = await pc.fetch(10, { timeout: 700 });
    expect(again.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
  });

  it('without a sequence goes back to the ack floor, redelivering what was unacked', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C', ackWait: 60_000 });
    await publish(subj, 4);
    const pc = await fx.js.consumers.get(stream, 'C');
    const first = await pc.fetch(4, { timeout: 2000 });
    await first[0].ackSync();
    const info = await fx.jsm.consumers.reset(stream, 'C');
    expect(info.resetSeq).toBe(2);
    const again = await pc.fetch(10, { timeout: 700 });
    expect(again.map((m) => m.seq)).toEqual([2, 3, 4]);
  });

  it('rejects a missing consumer with ConsumerNotFoundError, a bad sequence before sending', async () => {
    const { stream } = await fx.stream();
    await expect(fx.jsm.consumers.reset(stream, 'missing')).rejects.toBeInstanceOf(
      ConsumerNotFoundError,
    );
    await expect(fx.jsm.consumers.reset(stream, 'C', 0)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('on older servers', () => {
  itBefore('2.11.0', 'pause, resume and pauseUntil fail before sending', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C' });
    const out = fx.nc.stats().outMsgs;
    const until = new Date(Date.now() + 1000);
    for (const call of [
      fx.jsm.consumers.pause(stream, 'C', until),
      fx.jsm.consumers.resume(stream, 'C'),
      fx.jsm.consumers.add(stream, { durableName: 'D', pauseUntil: until }),
    ]) {
      const err = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FeatureNotSupportedError);
      expect(err).toMatchObject({ minVersion: '2.11.0' });
    }
    expect(fx.nc.stats().outMsgs).toBe(out);
  });

  itBefore('2.14.0', 'reset fails before sending', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'C' });
    const out = fx.nc.stats().outMsgs;
    const err = await fx.jsm.consumers.reset(stream, 'C', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toMatchObject({ minVersion: '2.14.0', feature: 'consumers.reset()' });
    expect(fx.nc.stats().outMsgs).toBe(out);
  });
});
