// Atomic batch publish (ADR-50, nats-server 2.12+): all messages of a batch are stored, or none.
import {
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
} from '../../lib/core/index.js';
import { MAX_ATOMIC_BATCH_SIZE } from '../../lib/jetstream/index.js';
import { describeSince, itBefore } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

async function messages(stream: string): Promise<number> {
  return (await fx.jsm.streams.info(stream)).state.messages;
}

describeSince('2.12.0', 'js.batch()', () => {
  it('commits 1,000 messages as one batch and refuses the 1,001st before sending', async () => {
    const { stream, subj } = await fx.stream({ allowAtomic: true });
    const b = fx.js.batch();
    for (let i = 1; i < MAX_ATOMIC_BATCH_SIZE; i++) await b.add(`${subj}.${i % 7}`, `m${i}`);
    const ack = await b.commit(`${subj}.last`, 'last');
    expect(ack).toMatchObject({ stream, seq: 1000, count: 1000, batch: b.id });
    expect(await messages(stream)).toBe(1000);

    const over = fx.js.batch();
    for (let i = 0; i < MAX_ATOMIC_BATCH_SIZE; i++) await over.add(`${subj}.x`, 'x');
    await expect(over.add(`${subj}.x`, 'x')).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await messages(stream)).toBe(1000);
  }, 60_000);

  it('commit() without arguments commits the last added message', async () => {
    const { stream, subj } = await fx.stream({ allowAtomic: true });
    const b = fx.js.batch({ ackEvery: 2 });
    for (let i = 0; i < 5; i++) void b.add(`${subj}.a`, `${i}`);
    const ack = await b.commit();
    expect(ack).toMatchObject({ seq: 5, count: 5 });
    const last = await fx.jsm.streams.getMessage(stream, { seq: 5 });
    expect(last.string()).toBe('4');
    await expect(b.commit()).rejects.toThrow(/already committed/);
    await expect(fx.js.batch().commit()).rejects.toThrow(/at least one message/);
  });

  it('stores nothing when an expectation fails, and says why', async () => {
    const { stream, subj } = await fx.stream({ allowAtomic: true });
    await fx.js.publish(`${subj}.a`, 'before');
    const b = fx.js.batch();
    await b.add(`${subj}.a`, 'one', { expect: { lastSequence: 7 } });
    await b.add(`${subj}.b`, 'two');
    const err = await b.commit(`${subj}.c`, 'three').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(JsApiCode.WRONG_LAST_SEQUENCE);
    expect((err as Error).message).toMatch(/wrong last sequence/i);
    expect(await messages(stream)).toBe(1);

    const ok = fx.js.batch();
    await ok.add(`${subj}.a`, 'one', { expect: { lastSequence: 1 } });
    expect((await ok.commit(`${subj}.b`, 'two', { expect: { lastSubjectSequence: 0 } })).seq).toBe(
      3,
    );
  });

  it('refuses expectations a batch cannot carry before sending', async () => {
    const { subj } = await fx.stream({ allowAtomic: true });
    const b = fx.js.batch();
    await b.add(`${subj}.a`, '1', { msgId: 'x' });
    await expect(b.add(`${subj}.b`, '2', { expect: { lastSequence: 1 } })).rejects.toThrow(
      /only the first message/,
    );
    await expect(b.add(`${subj}.a`, '2', { expect: { lastSubjectSequence: 0 } })).rejects.toThrow(
      /already wrote/,
    );
    await expect(b.add(`${subj}.c`, '2', { msgId: 'x' })).rejects.toThrow(/repeats/);
    await expect(
      b.add(`${subj}.c`, '2', { headers: { 'Nats-Expected-Last-Msg-Id': 'y' } }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('fails on a stream without allowAtomic and stores nothing', async () => {
    const { stream, subj } = await fx.stream();
    const b = fx.js.batch();
    await b.add(`${subj}.a`, 'one');
    const err = await b.commit(`${subj}.b`, 'two').catch((e: unknown) => e);
    expect((err as JetStreamApiError).apiCode).toBe(JsApiCode.ATOMIC_PUBLISH_DISABLED);
    expect(await messages(stream)).toBe(0);
  });
});

itBefore('2.12.0', 'js.batch() needs nats-server 2.12', async () => {
  const err = (() => {
    try {
      fx.js.batch();
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(FeatureNotSupportedError);
  expect((err as FeatureNotSupportedError).minVersion).toBe('2.12.0');
});
