// Binding to an existing consumer (pullSubscribe, subscribe with a durable, consumers.get) never
// changes it; a conflicting config is a typed error naming the fields.
import {
  ConsumerNotFoundError,
  InvalidOptionError,
  JetStreamApiError,
} from '../../lib/core/index.js';
import { ConsumerConfigConflictError } from '../../lib/jetstream/index.js';
import { itBefore, itSince, serverAtLeast } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

/** A stream with 3 messages and a durable pull consumer (ackWait 5 s, no filter) that read none. */
async function durableWithPending(): Promise<{ stream: string; subj: string }> {
  const n = await fx.stream();
  for (let i = 0; i < 3; i++) await fx.js.publish(`${n.subj}.m`, `${i}`);
  await fx.jsm.consumers.add(n.stream, { durableName: 'd', ackWait: 5000 });
  return n;
}

describe('pullSubscribe() to an existing durable', () => {
  it('leaves the consumer as it is and delivers its next message', async () => {
    const { stream, subj } = await durableWithPending();
    const before = await fx.jsm.consumers.info(stream, 'd');
    const c = await fx.js.pullSubscribe(`${subj}.>`, { durable: 'd', stream });
    const after = await fx.jsm.consumers.info(stream, 'd');
    expect(after.config).toEqual(before.config);
    expect(after.config.ackWait).toBe(5000);
    expect(after.config.filterSubject).toBeUndefined();
    expect(after.delivered).toEqual(before.delivered);
    expect(after.numPending).toBe(3);
    const [m] = await c.fetch(1, { timeout: 2000 });
    expect(m?.string()).toBe('0');
    expect(m?.metadata.sequence).toEqual({ stream: 1, consumer: 1 });
  });
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('pullSubscribe() to an existing durable', () => {
  it('refuses a config that contradicts the consumer, naming the fields, and leaves it as it is', async () => {
    const { stream, subj } = await durableWithPending();
    const before = await fx.jsm.consumers.info(stream, 'd');
    const err = await rejection(
      fx.js.pullSubscribe(`${subj}.>`, {
        durable: 'd',
        stream,
        config: { ackWait: 30_000, maxDeliver: -1, deliverPolicy: 'all' },
      }),
    );
    expect(err).toBeInstanceOf(ConsumerConfigConflictError);
    expect(err).toBeInstanceOf(JetStreamApiError);
    const conflict = err as ConsumerConfigConflictError;
    expect(conflict.code).toBe('CONSUMER_CONFIG_CONFLICT');
    expect(conflict.fields).toEqual(['ackWait']);
    expect(conflict.message).toMatch(/ackWait is 5000, not 30000/);
    expect((await fx.jsm.consumers.info(stream, 'd')).config).toEqual(before.config);
  });

  it('refuses a subject narrower than an unfiltered consumer reads', async () => {
    const { stream, subj } = await durableWithPending();
    const err = await rejection(fx.js.pullSubscribe(`${subj}.m`, { durable: 'd', stream }));
    expect(err).toBeInstanceOf(ConsumerConfigConflictError);
    expect((err as ConsumerConfigConflictError).fields).toEqual(['filterSubject']);
    expect((await fx.jsm.consumers.info(stream, 'd')).config.filterSubject).toBeUndefined();
  });

  it('binds on the same filter and refuses another one', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'f', filterSubject: `${subj}.a` });
    await fx.js.publish(`${subj}.a`, 'a');
    const c = await fx.js.pullSubscribe(`${subj}.a`, { durable: 'f' });
    expect((await c.fetch(1, { timeout: 2000 }))[0]?.string()).toBe('a');
    const err = await rejection(fx.js.pullSubscribe(`${subj}.b`, { durable: 'f', stream }));
    expect((err as ConsumerConfigConflictError).fields).toEqual(['filterSubject']);
    expect((await fx.jsm.consumers.info(stream, 'f')).config.filterSubject).toBe(`${subj}.a`);
  });

  it('creates a missing durable as asked, then binds to it unchanged', async () => {
    const { stream, subj } = await fx.stream();
    const c = await fx.js.pullSubscribe(`${subj}.>`, {
      durable: 'n',
      config: { ackWait: 4000, description: 'x' },
    });
    const info = await c.info();
    expect(info.config).toMatchObject({ ackWait: 4000, filterSubject: `${subj}.>` });
    const again = await fx.js.pullSubscribe(`${subj}.>`, {
      durable: 'n',
      stream,
      config: { ackWait: 4000, description: 'x' },
    });
    expect((await again.info()).created).toBe(info.created);
  });

  it('refuses a push consumer', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'p', deliverSubject: 'elsewhere' });
    const err = await rejection(fx.js.pullSubscribe(`${subj}.>`, { durable: 'p', stream }));
    expect(err).toBeInstanceOf(InvalidOptionError);
  });
});

describe('js.subscribe() with an existing durable', () => {
  it('binds without changing it and receives the pending messages', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.m`, `${i}`);
    const inbox = fx.nc.newInbox();
    await fx.jsm.consumers.add(stream, { durableName: 'pd', deliverSubject: inbox, ackWait: 5000 });
    const before = await fx.jsm.consumers.info(stream, 'pd');
    const sub = await fx.js.subscribe(`${subj}.>`, { durable: 'pd', stream, manualAck: true });
    const got: string[] = [];
    for await (const m of sub) {
      got.push(m.string());
      m.ack();
      if (got.length === 3) break;
    }
    expect(got).toEqual(['0', '1', '2']);
    const after = await fx.jsm.consumers.info(stream, 'pd');
    expect(after.config).toEqual(before.config);
    sub.unsubscribe();
  });

  it('refuses options that contradict it, naming them', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'pc', deliverSubject: fx.nc.newInbox() });
    const err = await rejection(
      fx.js.subscribe(`${subj}.>`, { durable: 'pc', stream, deliverPolicy: 'new', queue: 'q' }),
    );
    expect(err).toBeInstanceOf(ConsumerConfigConflictError);
    expect((err as ConsumerConfigConflictError).fields.sort()).toEqual([
      'deliverGroup',
      'deliverPolicy',
    ]);
  });
});

describe('consumers.get() and ordered consumers', () => {
  it('only read an existing durable', async () => {
    const { stream } = await durableWithPending();
    const before = await fx.jsm.consumers.info(stream, 'd');
    const c = await fx.js.consumers.get(stream, 'd');
    const o = await fx.js.consumers.ordered(stream);
    o.stop();
    const after = await fx.jsm.consumers.info(stream, 'd');
    expect(after.config).toEqual(before.config);
    expect(after.delivered).toEqual(before.delivered);
    expect((await c.fetch(1, { timeout: 2000 }))[0]?.string()).toBe('0');
  });
});

describe('jsm.consumers.add() and update()', () => {
  it('resolves the existing consumer when added again with the same config', async () => {
    const { stream } = await durableWithPending();
    const before = await fx.jsm.consumers.info(stream, 'd');
    const again = await fx.jsm.consumers.add(stream, { durableName: 'd', ackWait: 5000 });
    expect(again.config).toEqual(before.config);
    expect(again.created).toBe(before.created);
  });

  itSince('2.10.0', 'refuses to overwrite a consumer with another config (2.10+)', async () => {
    const { stream } = await durableWithPending();
    const before = await fx.jsm.consumers.info(stream, 'd');
    const err = await rejection(fx.jsm.consumers.add(stream, { durableName: 'd', ackWait: 7000 }));
    expect(err).toBeInstanceOf(ConsumerConfigConflictError);
    expect((err as ConsumerConfigConflictError).fields).toEqual(['ackWait']);
    // A field left to its default counts too: the server would store 30 s.
    const dflt = await rejection(fx.jsm.consumers.add(stream, { durableName: 'd' }));
    expect((dflt as ConsumerConfigConflictError).fields).toEqual(['ackWait']);
    expect((dflt as ConsumerConfigConflictError).message).toMatch(/ackWait is 5000, not 30000/);
    expect((await fx.jsm.consumers.info(stream, 'd')).config).toEqual(before.config);
  });

  itBefore('2.10.0', 'updates a consumer added again with another config (2.9)', async () => {
    const { stream } = await durableWithPending();
    const info = await fx.jsm.consumers.add(stream, { durableName: 'd', ackWait: 7000 });
    expect(info.config.ackWait).toBe(7000);
  });

  it('sends the create and update actions only to servers that know them', async () => {
    const { stream } = await fx.stream();
    const spy = await fx.connect();
    const sub = spy.subscribe(`$JS.API.CONSUMER.CREATE.${stream}.>`);
    await spy.flush();
    await fx.jsm.consumers.add(stream, { durableName: 'w' });
    await fx.jsm.consumers.update(stream, 'w', { description: 'changed' });
    const actions = [];
    for (let i = 0; i < 2; i++)
      actions.push((await sub.nextMsg(2000)).json<{ action?: string }>().action);
    expect(actions).toEqual(
      serverAtLeast('2.10.0') ? ['create', 'update'] : [undefined, undefined],
    );
  });

  it('updates an existing consumer keeping its delivery state', async () => {
    const { stream } = await durableWithPending();
    const c = await fx.js.consumers.get(stream, 'd');
    const [first] = await c.fetch(1, { timeout: 2000 });
    first?.ack();
    await first?.ackSync().catch(() => undefined);
    const info = await fx.jsm.consumers.update(stream, 'd', { ackWait: 9000, description: 'x' });
    expect(info.config).toMatchObject({ ackWait: 9000, description: 'x' });
    expect(info.delivered.streamSeq).toBe(1);
    expect((await c.fetch(1, { timeout: 2000 }))[0]?.string()).toBe('1');
  });

  it('never creates a consumer on update: ConsumerNotFoundError', async () => {
    const { stream } = await fx.stream();
    const err = await rejection(fx.jsm.consumers.update(stream, 'missing', { ackWait: 9000 }));
    expect(err).toBeInstanceOf(ConsumerNotFoundError);
    expect(await rejection(fx.jsm.consumers.info(stream, 'missing'))).toBeInstanceOf(
      ConsumerNotFoundError,
    );
  });
});
