// Distributed counters (ADR-49, nats-server 2.12+): BigInt totals kept by the stream.
import {
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
} from '../../lib/core/index.js';
import { jetstream } from '../../lib/jetstream/index.js';
import { describeSince, itBefore } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

const counterStream = () => fx.stream({ allowMsgCounter: true, allowDirect: true });

describeSince('2.12.0', 'js.counter()', () => {
  it('sums increments from two connections exactly, past 2^53', async () => {
    const { subj } = await counterStream();
    const a = fx.js.counter(`${subj}.hits`);
    const b = jetstream(await fx.connect()).counter(`${subj}.hits`);
    const big = 2n ** 53n;
    expect(await a.increment(big)).toBe(big);
    await Promise.all([
      ...Array.from({ length: 50 }, () => a.increment(3)),
      ...Array.from({ length: 50 }, () => b.increment(2n)),
    ]);
    const total = big + 250n;
    expect(await a.value()).toBe(total);
    expect(await b.increment(-1)).toBe(total - 1n);
    expect(await a.increment(0)).toBe(total - 1n);
  });

  it('reads 0n for a subject never incremented, and many counters with values()', async () => {
    const { subj } = await counterStream();
    const c = fx.js.counter(`${subj}.a`);
    expect(await c.value()).toBe(0n);
    await c.increment(5);
    await fx.js.counter(`${subj}.b`).increment(-7n);
    await fx.js.counter(`${subj}.a`).increment(1);
    const seen: Array<[string, bigint]> = [];
    for await (const v of c.values(`${subj}.*`)) seen.push([v.subject, v.value]);
    expect(seen).toEqual([
      [`${subj}.b`, -7n],
      [`${subj}.a`, 6n],
    ]);
  });

  it('refuses increments that are not safe integers, and streams without counters', async () => {
    const { subj } = await fx.stream();
    const c = fx.js.counter(`${subj}.x`);
    await expect(c.increment(1.5)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(c.increment(2 ** 60)).rejects.toBeInstanceOf(InvalidOptionError);
    const err = await c.increment(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(JsApiCode.COUNTER_DISABLED);
  });
});

itBefore('2.12.0', 'counters need nats-server 2.12', async () => {
  const { subj } = await fx.stream();
  const c = fx.js.counter(`${subj}.x`);
  const err = await c.increment(1).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FeatureNotSupportedError);
  expect((err as FeatureNotSupportedError).minVersion).toBe('2.12.0');
  await expect(c.value()).rejects.toBeInstanceOf(FeatureNotSupportedError);
  expect(() => c.values()).toThrow(FeatureNotSupportedError);
  expect((await fx.jsm.streams.info(subj.toUpperCase())).state.messages).toBe(0);
});
