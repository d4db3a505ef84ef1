// Service API stats exactness, discovery, lifecycle, reconnect, nats.js interop, and graceful shutdown
// with async handlers in flight.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ServiceIdentity as JsIdentity,
  type ServiceInfo as JsInfo,
  ServiceError as JsServiceError,
  type ServiceStats as JsStats,
  Svcm,
} from '@nats-io/services';
import { connect as jsConnect, type NatsConnection as JsConnection } from '@nats-io/transport-node';
import { type NatsConnection, ServiceError } from '../../lib/core/index.js';
import { ServiceClient, type ServiceMsg } from '../../lib/services/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import { Connections, rejection, timed, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let caller: NatsConnection;
let client: ServiceClient;

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown): void => void unhandled.push(r);

beforeAll(async () => {
  server = await startServer();
  process.on('unhandledRejection', onUnhandled);
});
beforeEach(async () => {
  unhandled.length = 0;
  nc = await conns.connect({ servers: server.url });
  caller = await conns.connect({ servers: server.url });
  client = new ServiceClient(caller, { stallTimeout: 100 });
});
afterEach(() => conns.closeAll());
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await stopAllServers();
});

const echo = (req: ServiceMsg): void => void req.respond(req.data);

// Deterministic PRNG.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('stats exactness', () => {
  it('counts N concurrent async requests with random delays and mixed outcomes exactly', async () => {
    const svc = await nc.addService({ name: 'conc', version: '1.0.0' });
    const rnd = lcg(42);
    const N = 60;
    const plan = Array.from({ length: N }, (_, i) => ({
      delay: Math.floor(rnd() * 40),
      outcome: i % 5 === 0 ? 'throw' : i % 7 === 0 ? 'error' : 'ok',
    }));
    let lastErrorSeen = '';
    let sumDelay = 0;
    svc.addEndpoint('work', async (req) => {
      const p = plan[Number(req.string())];
      await sleep(p.delay);
      sumDelay += p.delay;
      if (p.outcome === 'throw') {
        lastErrorSeen = `500:t${req.string()}`;
        throw new Error(`t${req.string()}`);
      }
      if (p.outcome === 'error') {
        lastErrorSeen = `409:e${req.string()}`;
        req.respondError(409, `e${req.string()}`);
        return;
      }
      req.respond('ok');
    });
    await nc.flush();
    const results = await Promise.allSettled(
      plan.map((_, i) => caller.request('work', String(i), { timeout: 3000 })),
    );
    const expectedErrors = plan.filter((p) => p.outcome !== 'ok').length;
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(expectedErrors);
    const [wire] = await client.stats('conc');
    const ep = wire.endpoints[0];
    expect(ep.numRequests).toBe(N);
    expect(ep.numErrors).toBe(expectedErrors);
    expect(ep.lastError).toBe(lastErrorSeen);
    expect(ep.processingTime).toBeGreaterThanOrEqual(sumDelay * 0.95);
    expect(ep.averageProcessingTime * N).toBeCloseTo(ep.processingTime, 1);
  });

  it('emits integer nanoseconds on the wire for processing_time and average', async () => {
    const svc = await nc.addService({ name: 'ints', version: '1.0.0' });
    svc.addEndpoint('e', echo);
    await nc.flush();
    for (let i = 0; i < 7; i++) await caller.request('e');
    const msgs: unknown[] = [];
    for await (const m of caller.requestMany('$SRV.STATS.ints', undefined, {
      maxWait: 1000,
      maxMessages: 1,
    }))
      msgs.push(m.json());
    const ep = (msgs[0] as { endpoints: Record<string, unknown>[] }).endpoints[0];
    expect(Number.isInteger(ep.processing_time)).toBe(true);
    expect(Number.isInteger(ep.average_processing_time)).toBe(true);
    expect(ep.num_requests).toBe(7);
    expect(typeof ep.last_error).toBe('string');
    void svc;
  });

  it('reset() while requests are in flight keeps counters consistent', async () => {
    const svc = await nc.addService({ name: 'midreset', version: '1.0.0' });
    svc.addEndpoint('slow', async (req) => {
      await sleep(80);
      req.respondError(400, 'late');
    });
    await nc.flush();
    const pending = Array.from({ length: 5 }, () =>
      caller.request('slow', undefined, { timeout: 2000 }).catch((e: unknown) => e),
    );
    await sleep(30);
    svc.reset();
    const after = await Promise.all(pending);
    for (const e of after) expect(e).toBeInstanceOf(ServiceError);
    const [ep] = (await svc.stats()).endpoints;
    // Nothing received after the reset: all zero.
    expect(ep).toMatchObject({
      numRequests: 0,
      numErrors: 0,
      lastError: '',
      processingTime: 0,
      averageProcessingTime: 0,
    });
    // New requests after reset count normally.
    await caller.request('slow', undefined, { timeout: 2000 }).catch(() => undefined);
    const [ep2] = (await svc.stats()).endpoints;
    expect(ep2).toMatchObject({ numRequests: 1, numErrors: 1, lastError: '400:late' });
  });

  it('statsHandler returning non-JSON data (BigInt) still answers STATS (error or data)', async () => {
    await nc
      .addService({
        name: 'bigint',
        version: '1.0.0',
        statsHandler: () => ({ n: 10n }),
      })
      .then((s) => s.addEndpoint('e', echo));
    await nc.flush();
    const { ms, value } = await timed(async () => {
      const out: unknown[] = [];
      try {
        for await (const m of caller.requestMany('$SRV.STATS.bigint', undefined, {
          maxWait: 1000,
          maxMessages: 1,
        }))
          out.push(m);
      } catch (e) {
        out.push(e);
      }
      return out;
    });
    // Some reply (error headers or data) must come; silence until maxWait is a bug.
    expect(value).toHaveLength(1);
    expect(ms).toBeLessThan(900);
  });
});

describe('discovery', () => {
  it('returns [] quickly when no service is running', async () => {
    for (const verb of ['ping', 'info', 'stats'] as const) {
      const { ms, value } = await timed((): Promise<unknown[]> => nc.services[verb]());
      expect(value).toEqual([]);
      expect(ms).toBeLessThan(250);
    }
  });

  it('filters by name case-sensitively, by name+id, unknown id', async () => {
    const a = await nc.addService({ name: 'Alpha', version: '1.0.0' });
    const c2 = await conns.connect({ servers: server.url });
    const b = await c2.addService({ name: 'Alpha', version: '1.0.0' });
    const c3 = await conns.connect({ servers: server.url });
    await c3.addService({ name: 'alpha', version: '1.0.0' });
    expect((await client.ping('Alpha')).map((p) => p.id).sort()).toEqual(
      [a.info().id, b.info().id].sort(),
    );
    expect(await client.ping('alpha')).toHaveLength(1);
    expect(await client.ping('ALPHA')).toEqual([]);
    expect((await client.info('Alpha', b.info().id)).map((p) => p.id)).toEqual([b.info().id]);
    const { ms, value } = await timed(() => client.stats('Alpha', 'nosuchid'));
    expect(value).toEqual([]);
    expect(ms).toBeLessThan(250);
    expect(await client.ping()).toHaveLength(3);
  });

  it('rejects an id without a name and an invalid name, as a rejected promise', async () => {
    await expect(client.ping(undefined, 'abc')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(client.ping('a.b')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(client.ping('', 'x')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('waits for a slow STATS responder (statsHandler 500 ms) within timeout', async () => {
    await nc
      .addService({
        name: 'slowstats',
        version: '1.0.0',
        statsHandler: async () => {
          await sleep(500);
          return { ok: true };
        },
      })
      .then((s) => s.addEndpoint('e', echo));
    await nc.flush();
    const [s] = await nc.services.stats('slowstats');
    expect(s?.endpoints[0].data).toEqual({ ok: true });
  });

  it('INFO/STATS JSON: exact keys for endpoints with and without queue group', async () => {
    const svc = await nc.addService({ name: 'keys', version: '1.0.0' });
    svc.addEndpoint('a', { handler: echo, metadata: { k: 'v' } });
    svc.addEndpoint('b', { handler: echo, queueGroup: false });
    await nc.flush();
    const infos: Record<string, unknown>[] = [];
    for await (const m of caller.requestMany('$SRV.INFO.keys', undefined, {
      maxWait: 500,
      maxMessages: 1,
    }))
      infos.push(m.json());
    const stats: Record<string, unknown>[] = [];
    for await (const m of caller.requestMany('$SRV.STATS.keys', undefined, {
      maxWait: 500,
      maxMessages: 1,
    }))
      stats.push(m.json());
    expect(Object.keys(infos[0]).sort()).toEqual(
      ['description', 'endpoints', 'id', 'metadata', 'name', 'type', 'version'].sort(),
    );
    expect(infos[0].endpoints).toEqual([
      { name: 'a', subject: 'a', queue_group: 'q', metadata: { k: 'v' } },
      { name: 'b', subject: 'b', metadata: null },
    ]);
    expect(Object.keys(stats[0]).sort()).toEqual(
      ['endpoints', 'id', 'metadata', 'name', 'started', 'type', 'version'].sort(),
    );
    const eps = stats[0].endpoints as Record<string, unknown>[];
    expect(Object.keys(eps[0]).sort()).toEqual(
      [
        'average_processing_time',
        'last_error',
        'name',
        'num_errors',
        'num_requests',
        'processing_time',
        'queue_group',
        'subject',
      ].sort(),
    );
  });

  it('a monitoring request without reply subject does not break the service', async () => {
    const svc = await nc.addService({ name: 'noreply', version: '1.0.0' });
    caller.publish('$SRV.STATS.noreply');
    caller.publish('$SRV.PING');
    await caller.flush();
    await sleep(20);
    expect(svc.isStopped).toBe(false);
    expect(await client.ping('noreply')).toHaveLength(1);
  });
});

describe('lifecycle', () => {
  it('stop() twice returns the same promise; the first error wins', async () => {
    const svc = await nc.addService({ name: 'st', version: '1.0.0' });
    const e1 = new Error('one');
    const p1 = svc.stop(e1);
    const p2 = svc.stop(new Error('two'));
    expect(p2).toBe(p1);
    await p1;
    expect(await svc.stopped).toBe(e1);
  });

  it('stop() while iterator requests are in flight: they still get replies', async () => {
    const svc = await nc.addService({ name: 'itstop', version: '1.0.0' });
    const ep = svc.addEndpoint('it', { subject: 'itstop.x' });
    await nc.flush();
    const loop = (async () => {
      for await (const req of ep) {
        await sleep(30);
        req.respond(`r${req.string()}`);
      }
    })();
    const pending = [1, 2, 3].map((i) => caller.request('itstop.x', String(i), { timeout: 2000 }));
    await sleep(10);
    await svc.stop();
    const replies = await Promise.all(pending);
    expect(replies.map((r) => r.string()).sort()).toEqual(['r1', 'r2', 'r3']);
    await loop;
  });

  it('stop() after the connection is closed resolves; stopped resolves', async () => {
    const c = await conns.connect({ servers: server.url });
    const svc = await c.addService({ name: 'cl', version: '1.0.0' });
    svc.addEndpoint('x', echo);
    await c.close();
    await expect(svc.stop()).resolves.toBeUndefined();
    await expect(svc.stopped).resolves.toBeUndefined();
    expect(svc.isStopped).toBe(true);
  });

  it('addService on a closed connection rejects (no hang) and on a draining one', async () => {
    const c = await conns.connect({ servers: server.url });
    await c.close();
    await expect(c.addService({ name: 'dead', version: '1.0.0' })).rejects.toBeDefined();
  });

  it('stop() from inside a handler still answers that request', async () => {
    const svc = await nc.addService({ name: 'selfstop', version: '1.0.0' });
    svc.addEndpoint('x', async (req) => {
      const stopping = svc.stop();
      req.respond('bye');
      await stopping;
    });
    await nc.flush();
    expect((await caller.request('x', undefined, { timeout: 1000 })).string()).toBe('bye');
    await svc.stopped;
    expect(svc.isStopped).toBe(true);
  });

  it('no unhandled rejections across the lifecycle tests', () => {
    expect(unhandled).toEqual([]);
  });
});

describe('reconnect', () => {
  it('re-establishes endpoints and discovery after a server restart', async () => {
    const srv = await startServer();
    const c = await conns.connect({
      servers: srv.url,
      reconnectTimeWait: 50,
      maxReconnectAttempts: -1,
    });
    const other = await conns.connect({
      servers: srv.url,
      reconnectTimeWait: 50,
      maxReconnectAttempts: -1,
    });
    const svc = await c.addService({ name: 'rc', version: '1.0.0' });
    svc.addEndpoint('x', { subject: 'rc.x', handler: echo });
    svc.addGroup('rc').addEndpoint('y', { handler: echo, queueGroup: false });
    await c.flush();
    await other.request('rc.x', 'a');
    await srv.restart();
    let reconnected = false;
    await waitUntil(
      () => {
        reconnected = !c.isClosed && c.isConnected === true;
        return reconnected;
      },
      5000,
      'reconnect',
    ).catch(() => undefined);
    await c.flush();
    await other.flush();
    expect(svc.isStopped).toBe(false);
    expect((await other.request('rc.x', 'b', { timeout: 1000 })).string()).toBe('b');
    expect((await other.request('rc.y', 'c', { timeout: 1000 })).string()).toBe('c');
    const otherClient = new ServiceClient(other, { stallTimeout: 100 });
    const [st] = await otherClient.stats('rc', svc.info().id);
    expect(st.endpoints.map((e) => e.numRequests)).toEqual([2, 1]);
    await srv.stop();
  });
});

// ---- interop with nats.js -----------------------------------------------------------------

type SvcmConnection = ConstructorParameters<typeof Svcm>[0];
type SvcmMsg = Parameters<typeof JsServiceError.isServiceError>[0];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe('interop with nats.js', () => {
  let jsnc: JsConnection;
  beforeEach(async () => {
    jsnc = await jsConnect({ servers: server.url });
  });
  afterEach(async () => {
    await jsnc.close();
  });
  const svcm = (): Svcm => new Svcm(jsnc as unknown as SvcmConnection);

  it('nats.js discovers our service with unicode metadata and calls it; unicode error description', async () => {
    const svc = await nc.addService({
      name: 'uni',
      version: '1.0.0-β'.replace('β', 'beta'),
      description: 'déscription ✓ "quoted"\n',
      metadata: { ключ: 'значение ✓', emoji: '🚀', empty: '' },
    });
    svc.addEndpoint('e', {
      subject: 'uni.e',
      handler: (req) => void req.respondError(451, 'ünavailable ✓ 🚀'),
      metadata: { 'ep-ключ': '🚀' },
    });
    await nc.flush();
    const client = svcm().client({ strategy: 'stall', stall: 150, maxWait: 2000 });
    const [info] = await collect<JsInfo>(await client.info('uni'));
    expect(info.metadata).toEqual({ ключ: 'значение ✓', emoji: '🚀', empty: '' });
    expect(info.description).toBe('déscription ✓ "quoted"\n');
    expect(info.endpoints[0].metadata).toEqual({ 'ep-ключ': '🚀' });
    const reply = await jsnc.request('uni.e');
    const err = JsServiceError.toServiceError(reply as unknown as SvcmMsg);
    expect([err?.code, err?.message]).toEqual([451, 'ünavailable ✓ 🚀']);
    const ours = (await rejection(caller.request('uni.e'))) as ServiceError;
    expect(ours.description).toBe('ünavailable ✓ 🚀');
    const [stats] = await collect<JsStats>(await client.stats('uni', svc.info().id));
    expect(stats.endpoints?.[0]).toMatchObject({ num_requests: 2, num_errors: 2 });
    const pings = await collect<JsIdentity>(await client.ping('uni'));
    expect(pings).toHaveLength(1);
  });

  it('our discovery sees a nats.js service with nested groups, metadata, queue groups', async () => {
    const jsvc = await svcm().add({
      name: 'jsgrp',
      version: '2.0.0+build.1',
      metadata: { ключ: '🚀', a: 'b' },
      queue: 'svcq',
    });
    const g = jsvc.addGroup('top').addGroup('mid', 'midq');
    g.addEndpoint('leaf', { handler: (_e, m) => m.respond('leaf'), metadata: { x: 'y' } });
    jsvc.addGroup('nq').addEndpoint('root', (_e, m) => m.respond('root'));
    await jsnc.flush();
    const [info] = await client.info('jsgrp');
    expect(info.metadata).toEqual({ ключ: '🚀', a: 'b' });
    expect(info.version).toBe('2.0.0+build.1');
    expect(info.endpoints).toEqual([
      { name: 'leaf', subject: 'top.mid.leaf', queueGroup: 'midq', metadata: { x: 'y' } },
      { name: 'root', subject: 'nq.root', queueGroup: 'svcq' },
    ]);
    expect((await caller.request('top.mid.leaf')).string()).toBe('leaf');
    const [st] = await client.stats('jsgrp', info.id);
    expect(st.endpoints[0].numRequests).toBe(1);
    await jsvc.stop();
  });

  it('our discovery keeps a __proto__ metadata key sent by another implementation', async () => {
    const jsvc = await svcm().add({
      name: 'jsproto',
      version: '1.0.0',
      metadata: JSON.parse('{"__proto__":"p","k":"v"}') as Record<string, string>,
    });
    await jsnc.flush();
    const raw: Record<string, unknown>[] = [];
    for await (const m of caller.requestMany('$SRV.PING.jsproto', undefined, {
      maxWait: 500,
      maxMessages: 1,
    }))
      raw.push(m.json());
    const [p] = await client.ping('jsproto');
    // Whatever nats.js put on the wire, we should parse the same keys.
    expect(Object.keys(p.metadata)).toEqual(Object.keys(raw[0].metadata as object));
    await jsvc.stop();
  });
});

describe('graceful shutdown', () => {
  it('await svc.stop() then nc.close(): the in-flight async request still gets its reply', async () => {
    const svc = await nc.addService({ name: 'gs1', version: '1.0.0' });
    svc.addEndpoint('slow', async (req) => {
      await sleep(100);
      req.respond('done');
    });
    await nc.flush();
    const pending = caller.request('slow', undefined, { timeout: 1500 });
    await sleep(20);
    await svc.stop();
    await nc.close();
    await expect(pending.then((m) => m.string())).resolves.toBe('done');
  });

  it('await svc.stopped resolves only after in-flight async handlers answered', async () => {
    const svc = await nc.addService({ name: 'gs2', version: '1.0.0' });
    let answered = false;
    svc.addEndpoint('slow', async (req) => {
      await sleep(100);
      req.respond('done');
      answered = true;
    });
    await nc.flush();
    const pending = caller.request('slow', undefined, { timeout: 1500 }).catch(() => undefined);
    await sleep(20);
    void svc.stop();
    await svc.stopped;
    expect(answered).toBe(true);
    await pending;
  });

  it('nc.drain() with an in-flight async service handler: reply is delivered', async () => {
    const svc = await nc.addService({ name: 'gs3', version: '1.0.0' });
    svc.addEndpoint('slow', async (req) => {
      await sleep(100);
      req.respond('done');
    });
    await nc.flush();
    const pending = caller.request('slow', undefined, { timeout: 1500 });
    await sleep(20);
    await nc.drain();
    await expect(pending.then((m) => m.string())).resolves.toBe('done');
    await svc.stopped;
  });

  it('stopped resolves with an error when the connection is lost for good', async () => {
    const srv = await startServer();
    const c = await conns.connect({
      servers: srv.url,
      maxReconnectAttempts: 1,
      reconnectTimeWait: 50,
    });
    const svc = await c.addService({ name: 'lost', version: '1.0.0' });
    await srv.stop();
    const ac = new AbortController();
    const err = await Promise.race([
      svc.stopped,
      sleep(5000, undefined, { signal: ac.signal }).then(
        () => 'hang' as const,
        () => 'hang' as const,
      ),
    ]);
    ac.abort();
    expect(err).not.toBe('hang');
    const closedWith = await c.closed();
    expect(err).toBe(closedWith);
  });
});
