// jsm.streams / jsm.consumers / jsm.accountInfo() against a real JetStream server.
import {
  connect,
  ConsumerNotFoundError,
  JetStreamApiError,
  NoRespondersError,
  StreamNotFoundError,
} from '../../lib/core/index.js';
import { jetstreamManager, JetStreamNotAvailableError } from '../../lib/jetstream/index.js';
import { startServer } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

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

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('jsm.streams', () => {
  it('adds a stream with camelCase config and ms durations, and reads it back', async () => {
    const { stream, subj } = fx.names();
    const info = await fx.jsm.streams.add({
      name: stream,
      subjects: [`${subj}.>`],
      storage: 'memory',
      maxAge: 60_000,
      duplicateWindow: 1500,
      maxMsgsPerSubject: 5,
    });
    expect(info.didCreate).toBe(true);
    expect(info.config).toMatchObject({ maxAge: 60_000, duplicateWindow: 1500, storage: 'memory' });
    expect(info.config.maxMsgsPerSubject).toBe(5);
    await fx.js.publish(`${subj}.a`, 'x');
    const again = await fx.jsm.streams.info(stream);
    expect(again.state.messages).toBe(1);
    expect(again.state.lastSeq).toBe(1);
    expect(again.state.firstSeq).toBe(1);
  });

  it('accepts add(name, config) and is idempotent for the same config', async () => {
    const { stream, subj } = fx.names();
    await fx.jsm.streams.add(stream, { subjects: [`${subj}.>`], storage: 'memory' });
    const again = await fx.jsm.streams.add(stream, { subjects: [`${subj}.>`], storage: 'memory' });
    expect(again.config.name).toBe(stream);
    const err = await rejection(
      fx.jsm.streams.add(stream, { subjects: [`${subj}.>`], storage: 'memory', maxMsgs: 3 }),
    );
    expect((err as JetStreamApiError).apiCode).toBe(10058);
  });

  it('updates by merging over the current config', async () => {
    const { stream } = await fx.stream();
    const info = await fx.jsm.streams.update(stream, { maxMsgs: 10, description: 'd' });
    expect(info.config.maxMsgs).toBe(10);
    expect(info.config.storage).toBe('memory');
    expect((await fx.jsm.streams.info(stream)).config.description).toBe('d');
  });

  it('maps missing streams to StreamNotFoundError', async () => {
    const err = await rejection(fx.jsm.streams.info('NOPE'));
    expect(err).toBeInstanceOf(StreamNotFoundError);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as StreamNotFoundError).apiCode).toBe(10059);
    expect((err as StreamNotFoundError).status).toBe(404);
  });

  it('deletes a stream, resolving true', async () => {
    const { stream } = await fx.stream();
    expect(await fx.jsm.streams.delete(stream)).toBe(true);
    expect(await rejection(fx.jsm.streams.info(stream))).toBeInstanceOf(StreamNotFoundError);
  });

  it.each([
    [{ filter: 'odd' }, 5],
    [{ seq: 4 }, 3],
    [{ keep: 3 }, 7],
    [{}, 10],
  ])('purges %j, resolving { purged: %d }', async (opts, purged) => {
    // One purge per fresh stream: 2.9.10's stores miscount or fail (memory: "no message found")
    // a seq/keep purge whose cut lands on an already-deleted sequence.
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 10; i++) await fx.js.publish(`${subj}.${i % 2 ? 'odd' : 'even'}`, `${i}`);
    const o = 'filter' in opts ? { filter: `${subj}.odd` } : opts;
    expect(await fx.jsm.streams.purge(stream, o)).toEqual({ purged });
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(10 - purged);
  });

  it('lists and names every stream across pages, and finds a stream by subject', async () => {
    const made = [await fx.stream(), await fx.stream(), await fx.stream()];
    const names = await collect(fx.jsm.streams.names());
    for (const m of made) expect(names).toContain(m.stream);
    const infos = await collect(fx.jsm.streams.list());
    expect(infos.map((i) => i.config.name)).toEqual(expect.arrayContaining(names));
    expect(infos[0].state).toBeDefined();
    expect(await fx.jsm.streams.find(`${made[1].subj}.x.y`)).toBe(made[1].stream);
    expect(await rejection(fx.jsm.streams.find('no.such'))).toBeInstanceOf(StreamNotFoundError);
  });

  it('walks more than one page of names (limit 1024)', async () => {
    const before = (await collect(fx.jsm.streams.names())).length;
    const n = 1030 - before;
    const { subj } = fx.names();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        fx.jsm.streams.add({
          name: `P${subj}_${i}`,
          subjects: [`p${subj}.${i}`],
          storage: 'memory',
        }),
      ),
    );
    const names = await collect(fx.jsm.streams.names());
    expect(names.length).toBe(before + n);
    expect(new Set(names).size).toBe(names.length);
  }, 20_000);

  it.each([false, true])(
    'gets messages by seq and last-by-subject (allowDirect %s)',
    async (allowDirect) => {
      const { stream, subj } = await fx.stream({ allowDirect });
      await fx.js.publish(`${subj}.a`, 'first', { headers: { 'X-N': '1' } });
      await fx.js.publish(`${subj}.b`, 'second');
      await fx.js.publish(`${subj}.a`, 'third');
      const bySeq = await fx.jsm.streams.getMessage(stream, { seq: 1 });
      expect(bySeq).toMatchObject({ subject: `${subj}.a`, seq: 1 });
      expect(bySeq.string()).toBe('first');
      expect(bySeq.headers?.get('X-N')).toBe('1');
      expect(bySeq.headers?.has('Nats-Sequence') ?? false).toBe(false);
      expect(bySeq.time).toBeInstanceOf(Date);
      expect(Math.abs(bySeq.time.getTime() - Date.now())).toBeLessThan(5000);
      const last = await fx.jsm.streams.getMessage(stream, { lastBySubject: `${subj}.a` });
      expect(last.seq).toBe(3);
      expect(last.string()).toBe('third');
      expect(last.headers).toBeUndefined();
      const err = await rejection(fx.jsm.streams.getMessage(stream, { seq: 99 }));
      expect((err as JetStreamApiError).apiCode).toBe(10037);
    },
  );

  it('deletes a message, erasing or not', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 3; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    expect(await fx.jsm.streams.deleteMessage(stream, 2)).toBe(true);
    expect(await fx.jsm.streams.deleteMessage(stream, 3, false)).toBe(true);
    const info = await fx.jsm.streams.info(stream);
    expect(info.state.messages).toBe(1);
    expect(await rejection(fx.jsm.streams.getMessage(stream, { seq: 2 }))).toBeInstanceOf(
      JetStreamApiError,
    );
  });
});

describe('jsm.consumers', () => {
  it('adds a durable with ms durations and an explicit ack policy by default', async () => {
    const { stream, subj } = await fx.stream();
    const info = await fx.jsm.consumers.add(stream, {
      durableName: 'dur',
      ackWait: 1500,
      maxDeliver: 3,
      backoff: [500, 1000],
      filterSubject: `${subj}.a`,
      deliverPolicy: 'all',
      maxAckPending: 10,
    });
    expect(info.name).toBe('dur');
    expect(info.streamName).toBe(stream);
    expect(info.config).toMatchObject({
      durableName: 'dur',
      ackPolicy: 'explicit',
      ackWait: 500,
      backoff: [500, 1000],
      maxDeliver: 3,
      filterSubject: `${subj}.a`,
      maxAckPending: 10,
    });
    expect(info.numPending).toBe(0);
    expect(info.delivered.streamSeq).toBe(0);
  });

  it('creates an ephemeral when unnamed, with a wildcard filter', async () => {
    const { stream, subj } = await fx.stream();
    await fx.js.publish(`${subj}.a.b`, 'x');
    const info = await fx.jsm.consumers.add(stream, { filterSubject: `${subj}.a.>` });
    expect(info.name).toMatch(/\w+/);
    expect(info.numPending).toBe(1);
  });

  it('updates, lists, names, and deletes consumers', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'c1' });
    await fx.jsm.consumers.add(stream, { name: 'c2', inactiveThreshold: 60_000 });
    const upd = await fx.jsm.consumers.update(stream, 'c1', { maxDeliver: 7, description: 'x' });
    expect(upd.config.maxDeliver).toBe(7);
    expect(upd.config.ackPolicy).toBe('explicit');
    expect((await collect(fx.jsm.consumers.names(stream))).sort()).toEqual(['c1', 'c2']);
    const list = await collect(fx.jsm.consumers.list(stream));
    expect(list.find((c) => c.name === 'c2')?.config.inactiveThreshold).toBe(60_000);
    expect(await fx.jsm.consumers.delete(stream, 'c1')).toBe(true);
    const err = await rejection(fx.jsm.consumers.info(stream, 'c1'));
    expect(err).toBeInstanceOf(ConsumerNotFoundError);
    expect((err as ConsumerNotFoundError).apiCode).toBe(10014);
  });

  it('reports the stream of a consumer call as missing', async () => {
    expect(await rejection(fx.jsm.consumers.info('NOPE', 'x'))).toBeInstanceOf(StreamNotFoundError);
  });
});

describe('jsm.accountInfo()', () => {
  it('reports usage and limits', async () => {
    await fx.stream();
    const info = await fx.jsm.accountInfo();
    expect(info.streams).toBeGreaterThan(0);
    expect(info.limits.maxStreams).toBe(-1);
    expect(info.api.total).toBeGreaterThan(0);
  });

  it('rejects jetstreamManager() with a NoRespondersError when JetStream is off', async () => {
    const plain = await startServer();
    const nc = await connect({ servers: plain.url });
    try {
      const err = await rejection(jetstreamManager(nc, { timeout: 500 }));
      expect(err).toBeInstanceOf(JetStreamNotAvailableError);
      expect(err).toBeInstanceOf(NoRespondersError);
    } finally {
      await nc.close();
      await plain.stop();
    }
  });
});
