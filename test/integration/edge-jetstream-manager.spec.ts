// Edge cases: stream/consumer management and ordered consumers against a real nats-server.
import { InvalidOptionError, JetStreamApiError, connect } from '../../lib/core/index.js';
import { jetstreamManager } from '../../lib/jetstream/index.js';
import { serverAtLeast, startServer } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { collect, rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

/** Counts API requests the client sends (on $JS.API.>) through a second connection. */
async function apiSpy(): Promise<{ count: () => number; stop: () => void }> {
  const spy = await fx.connect();
  let n = 0;
  const sub = spy.subscribe('$JS.API.>', { callback: () => void n++ });
  await spy.flush();
  return { count: () => n, stop: () => sub.unsubscribe() };
}

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

describe('ordered consumers', () => {
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
