// jsm.streams / jsm.consumers / jsm.accountInfo() against a real JetStream server.
import {
  connect,
  ConsumerNotFoundError,
  InvalidOptionError,
  JetStreamApiError,
  NoRespondersError,
  StreamNotFoundError,
} from '../../lib/core/index.js';
import { jetstreamManager, JetStreamNotAvailableError } from '../../lib/jetstream/index.js';
import { serverAtLeast, startServer } from '../support/index.js';
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

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Counts API requests the client sends (on $JS.API.>) through a second connection. */
async function apiSpy(): Promise<{ count: () => number; stop: () => void }> {
  const spy = await fx.connect();
  let n = 0;
  const sub = spy.subscribe('$JS.API.>', { callback: () => void n++ });
  await spy.flush();
  return { count: () => n, stop: () => sub.unsubscribe() };
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

  it('getMessage() keeps working after another client re-creates the stream without direct get', async () => {
    const { stream, subj } = await fx.stream({ allowDirect: true });
    await fx.js.publish(`${subj}.a`, 'one');
    expect((await fx.jsm.streams.getMessage(stream, { seq: 1 })).string()).toBe('one');
    const other = await jetstreamManager(await fx.connect());
    await other.streams.delete(stream);
    await other.streams.add({ name: stream, subjects: [`${subj}.>`], storage: 'memory' });
    await fx.js.publish(`${subj}.a`, 'two');
    let outcome: string;
    try {
      outcome = (await fx.jsm.streams.getMessage(stream, { seq: 1 })).string();
    } catch (e) {
      outcome = `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
    expect(outcome).toBe('two');
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

describe('names', () => {
  it.each(['a.b', 'a*', 'a>', 'a b', 'a\tb', '', 'a/b', 'a\\b'])(
    'rejects stream name %j with InvalidOptionError before any request',
    async (name) => {
      const spy = await apiSpy();
      const ops = [
        fx.jsm.streams.add({ name, subjects: ['zz.x'] }),
        fx.jsm.streams.info(name),
        fx.jsm.streams.delete(name),
        fx.jsm.streams.purge(name),
        fx.jsm.streams.getMessage(name, { seq: 1 }),
        fx.jsm.consumers.add(name, { durableName: 'x' }),
        fx.js.consumers.get(name, 'x'),
      ];
      for (const p of ops) expect(await rejection(p)).toBeInstanceOf(InvalidOptionError);
      await fx.nc.flush();
      await sleep(50);
      spy.stop();
      expect(spy.count()).toBe(0);
    },
  );

  it.each(['a.b', 'a*', 'a>', 'a b'])(
    'rejects consumer name %j (as durableName or name) before any request',
    async (bad) => {
      const { stream } = await fx.stream();
      const spy = await apiSpy();
      const ops = [
        fx.jsm.consumers.add(stream, { durableName: bad }),
        fx.jsm.consumers.add(stream, { name: bad }),
        fx.jsm.consumers.info(stream, bad),
        fx.js.pullSubscribe(`zz.${stream}`, { stream, durable: bad }),
      ];
      const errs = [];
      for (const p of ops) errs.push(await rejection(p));
      await fx.nc.flush();
      await sleep(50);
      spy.stop();
      expect(errs.map((e) => (e as Error).constructor.name)).toEqual(
        ops.map(() => 'InvalidOptionError'),
      );
      expect(spy.count()).toBe(0);
    },
  );
});

describe('names (mixed)', () => {
  it.each(['a.b', 'a b'])(
    'rejects an invalid durableName %j next to a valid name before any request',
    async (bad) => {
      const { stream } = await fx.stream();
      const spy = await apiSpy();
      const err = await rejection(fx.jsm.consumers.add(stream, { name: 'ok', durableName: bad }));
      await fx.nc.flush();
      await sleep(50);
      spy.stop();
      expect({
        error: (err as Error).constructor.name,
        message: (err as Error).message,
        requests: spy.count(),
      }).toEqual({
        error: 'InvalidOptionError',
        message: expect.any(String),
        requests: 0,
      });
    },
  );
});

describe('updates and errors', () => {
  it('an incompatible stream update (storage change) rejects with a JetStreamApiError', async () => {
    const { stream } = await fx.stream();
    const err = await rejection(fx.jsm.streams.update(stream, { storage: 'file' }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBeGreaterThan(10000);
  });

  it('an incompatible consumer update (deliver policy) rejects with JetStreamApiError 10012', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'c', deliverPolicy: 'all' });
    const err = await rejection(fx.jsm.consumers.update(stream, 'c', { deliverPolicy: 'new' }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(10012);
  });

  it('updating a consumer that does not exist rejects and creates nothing', async () => {
    const { stream } = await fx.stream();
    await expect(fx.jsm.consumers.update(stream, 'ghost', { maxDeliver: 3 })).rejects.toThrow();
    expect(await collect(fx.jsm.consumers.names(stream))).toEqual([]);
  });

  it('deleteMessage() of a missing sequence rejects with a JetStreamApiError', async () => {
    const { stream, subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'x');
    const err = await rejection(fx.jsm.streams.deleteMessage(stream, 42));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBeGreaterThan(10000);
  });

  it('purge with both seq and keep is refused', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const err = await rejection(fx.jsm.streams.purge(stream, { seq: 3, keep: 1 }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(5);
  });

  it('purge with a filter and keep keeps the newest N on that subject only', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 6; i++) await fx.js.publish(`${subj}.${i % 2 ? 'o' : 'e'}`, `${i}`);
    expect(await fx.jsm.streams.purge(stream, { filter: `${subj}.o`, keep: 1 })).toEqual({
      purged: 2,
    });
    expect((await fx.jsm.streams.info(stream)).state.messages).toBe(4);
  });

  it('consumer durations round-trip exactly through info()', async () => {
    const { stream } = await fx.stream();
    const cfg = {
      durableName: 'd',
      ackWait: 1234,
      backoff: [250, 1500.5, 60_000],
      maxDeliver: 5,
      inactiveThreshold: 90_000,
      maxExpires: 7_500,
      maxBatch: 9,
      maxBytes: 1024,
    };
    const added = await fx.jsm.consumers.add(stream, cfg);
    const info = await fx.jsm.consumers.info(stream, 'd');
    for (const c of [added.config, info.config]) {
      expect(c.backoff).toEqual([250, 1500.5, 60_000]);
      // with backoff the server replaces ack_wait by backoff[0]
      expect(c.ackWait).toBe(250);
      expect(c.inactiveThreshold).toBe(90_000);
      expect(c.maxExpires).toBe(7_500);
      expect(c.maxBatch).toBe(9);
      expect(c.maxBytes).toBe(1024);
    }
    const push = await fx.jsm.consumers.add(stream, {
      durableName: 'p',
      deliverSubject: 'deliver.p',
      idleHeartbeat: 1500,
      flowControl: true,
      ackWait: 2500,
    });
    expect(push.config).toMatchObject({ idleHeartbeat: 1500, ackWait: 2500, flowControl: true });
    const s = await fx.jsm.streams.add({
      name: `${stream}X`,
      subjects: [`${stream.toLowerCase()}x.>`],
      storage: 'memory',
      maxAge: 3_600_000,
      duplicateWindow: 1_500,
    });
    expect(s.config).toMatchObject({ maxAge: 3_600_000, duplicateWindow: 1_500 });
  });

  it('a stream update through update() keeps fields it was not given (round trip)', async () => {
    const { stream, subj } = await fx.stream({
      maxAge: 60_000,
      duplicateWindow: 10_000,
      description: 'd',
      maxMsgsPerSubject: 3,
      allowRollupHdrs: true,
      // 2.9 has no stream metadata (refused before sending, see jetstream-strict-config).
      ...(serverAtLeast('2.10.0') ? { metadata: { a: 'b' } } : {}),
    });
    const before = (await fx.jsm.streams.info(stream)).config;
    const after = (await fx.jsm.streams.update(stream, { maxMsgs: 100 })).config;
    expect(after).toEqual({ ...before, maxMsgs: 100 });
    expect(after.subjects).toEqual([`${subj}.>`]);
  });
});

describe('paging with a private server', () => {
  it('list() walks more than one 256-stream page; consumers.list() too', async () => {
    const srv = await startServer({ jetstream: true });
    const nc = await connect({ servers: srv.url });
    try {
      const jsm = await jetstreamManager(nc);
      const N = 300;
      for (let i = 0; i < N; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, N - i) }, (_, j) =>
            jsm.streams.add({ name: `L${i + j}`, subjects: [`l.${i + j}`], storage: 'memory' }),
          ),
        );
      }
      const infos = await collect(jsm.streams.list());
      expect(infos.length).toBe(N);
      expect(new Set(infos.map((i) => i.config.name)).size).toBe(N);
      expect((await collect(jsm.streams.names())).length).toBe(N);
      for (let i = 0; i < N; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, N - i) }, (_, j) =>
            jsm.consumers.add('L0', { durableName: `c${i + j}` }),
          ),
        );
      }
      const cs = await collect(jsm.consumers.list('L0'));
      expect(cs.length).toBe(N);
      expect(new Set(cs.map((c) => c.name)).size).toBe(N);
      expect((await collect(jsm.consumers.names('L0'))).length).toBe(N);
    } finally {
      await nc.close();
      await srv.stop();
    }
  }, 30_000);
});
