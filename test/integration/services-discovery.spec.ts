// Service API discovery ($SRV.PING/INFO/STATS) and statistics against a real nats-server.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '../../lib/core/index.js';
import { ServiceClient, type Service, type ServiceMsg } from '../../lib/services/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, timed } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let client: ServiceClient;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  client = new ServiceClient(nc, { stallTimeout: 100 });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

const echo = (req: ServiceMsg): void => void req.respond(req.data);

async function instance(name: string, metadata?: Record<string, string>): Promise<Service> {
  const c = await conns.connect({ servers: server.url });
  const svc = await c.addService({ name, version: '2.1.0', description: `${name} svc`, metadata });
  svc.addEndpoint('one', { subject: `${name}.one`, handler: echo, metadata: { ep: '1' } });
  svc.addGroup(name, { queueGroup: false }).addEndpoint('two', echo);
  await c.flush();
  return svc;
}

const ids = (list: Array<{ id: string }>): string[] => list.map((r) => r.id).sort();

describe('service discovery', () => {
  it('pings all services, one service by name, and one instance by name and id', async () => {
    const [a1, a2, b] = [await instance('alpha'), await instance('alpha'), await instance('beta')];
    expect(ids(await nc.services.ping())).toEqual(ids([a1.info(), a2.info(), b.info()]));
    expect(ids(await client.ping('alpha'))).toEqual(ids([a1.info(), a2.info()]));
    const one = await client.ping('alpha', a2.info().id);
    expect(one).toEqual([
      {
        type: 'io.nats.micro.v1.ping_response',
        name: 'alpha',
        id: a2.info().id,
        version: '2.1.0',
        metadata: {},
      },
    ]);
    expect(await client.ping('gamma')).toEqual([]);
  });

  it('returns INFO with description, metadata and endpoints at every level', async () => {
    const a = await instance('alpha', { region: 'eu' });
    const b = await instance('beta');
    const all = await client.info();
    expect(all.map((i) => i.name).sort()).toEqual(['alpha', 'beta']);
    const [byName] = await client.info('alpha');
    const [byId] = await client.info('beta', b.info().id);
    expect(byName).toEqual({
      type: 'io.nats.micro.v1.info_response',
      name: 'alpha',
      id: a.info().id,
      version: '2.1.0',
      metadata: { region: 'eu' },
      description: 'alpha svc',
      endpoints: [
        { name: 'one', subject: 'alpha.one', queueGroup: 'q', metadata: { ep: '1' } },
        { name: 'two', subject: 'alpha.two' },
      ],
    });
    expect(byId).toEqual(b.info());
  });

  it('sends the exact ADR-32 JSON on the wire', async () => {
    const a = await instance('alpha');
    const id = a.info().id;
    await nc.request('alpha.one', 'x');
    const info = (await nc.request(`$SRV.INFO.alpha.${id}`)).json<Record<string, unknown>>();
    expect(Object.keys(info)).toEqual([
      'type',
      'name',
      'id',
      'version',
      'metadata',
      'description',
      'endpoints',
    ]);
    expect(info.endpoints).toEqual([
      { name: 'one', subject: 'alpha.one', queue_group: 'q', metadata: { ep: '1' } },
      { name: 'two', subject: 'alpha.two', metadata: null },
    ]);
    const stats = (await nc.request(`$SRV.STATS.alpha.${id}`)).json<Record<string, unknown>>();
    expect(stats).toMatchObject({ type: 'io.nats.micro.v1.stats_response', name: 'alpha', id });
    expect(stats.started).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const [one] = stats.endpoints as Array<Record<string, unknown>>;
    expect(Object.keys(one).sort()).toEqual(
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
    expect(one).toMatchObject({ num_requests: 1, num_errors: 0, last_error: '' });
    expect(Number.isInteger(one.processing_time)).toBe(true);
    const ping = (await nc.request(`$SRV.PING.alpha.${id}`)).json<Record<string, unknown>>();
    expect(ping).toEqual({
      type: 'io.nats.micro.v1.ping_response',
      name: 'alpha',
      id,
      version: '2.1.0',
      metadata: {},
    });
  });

  it('collects every reply until the stall timeout rather than stopping at the first', async () => {
    for (let i = 0; i < 4; i++) await instance('many');
    const { ms, value } = await timed(() => client.stats('many'));
    expect(value).toHaveLength(4);
    expect(ms).toBeGreaterThanOrEqual(90);
    expect(ms).toBeLessThan(1500);
  });
});

describe('service statistics', () => {
  it('measures async handlers until they respond, under concurrency', async () => {
    const svc = await nc.addService({ name: 'timing', version: '1.0.0' });
    svc.addEndpoint('async', async (req) => {
      await sleep(50);
      req.respond('ok');
    });
    svc.addEndpoint('timer', (req) => {
      setTimeout(() => void req.respond('ok'), 50);
    });
    svc.addEndpoint('sync', (req) => void req.respond('ok'));
    await nc.flush();
    const caller = await conns.connect({ servers: server.url });
    const calls = (subject: string) =>
      Array.from({ length: 20 }, () => caller.request(subject, undefined, { timeout: 2000 }));
    await Promise.all([...calls('async'), ...calls('timer'), ...calls('sync')]);
    const [asyncStats, timerStats, syncStats] = (await svc.stats()).endpoints;
    for (const s of [asyncStats, timerStats]) {
      expect(s.numRequests).toBe(20);
      expect(s.numErrors).toBe(0);
      expect(s.processingTime).toBeGreaterThanOrEqual(20 * 48);
      expect(s.averageProcessingTime).toBeGreaterThanOrEqual(48);
      expect(s.averageProcessingTime).toBeLessThan(500);
    }
    expect(syncStats.numRequests).toBe(20);
    expect(syncStats.averageProcessingTime).toBeLessThan(20);
    const [remote] = await client.stats('timing', svc.info().id);
    expect(remote.endpoints[0].numRequests).toBe(20);
    expect(remote.endpoints[0].averageProcessingTime).toBeCloseTo(
      asyncStats.averageProcessingTime,
      3,
    );
  });

  it('reset() zeroes every counter and moves started forward', async () => {
    const svc = await nc.addService({ name: 'resets', version: '1.0.0' });
    svc.addEndpoint('ok', echo);
    svc.addEndpoint('bad', (req) => req.respondError(400, 'nope'));
    await nc.flush();
    await nc.request('ok');
    await nc.request('bad').catch(() => undefined);
    const before = await svc.stats();
    expect(before.endpoints.map((e) => e.numRequests)).toEqual([1, 1]);
    await sleep(5);
    svc.reset();
    const after = await svc.stats();
    expect(after.started.getTime()).toBeGreaterThan(before.started.getTime());
    for (const e of after.endpoints) {
      expect(e).toMatchObject({
        numRequests: 0,
        numErrors: 0,
        lastError: '',
        processingTime: 0,
        averageProcessingTime: 0,
      });
    }
  });

  it('puts what statsHandler returns into each endpoint data, and lists late endpoints', async () => {
    const svc = await nc.addService({
      name: 'withdata',
      version: '1.0.0',
      statsHandler: async (ep) => ({ endpoint: ep.name }),
    });
    svc.addEndpoint('first', echo);
    const [before] = await client.info('withdata');
    expect(before.endpoints).toHaveLength(1);
    svc.addEndpoint('second', echo);
    const [stats] = await client.stats('withdata');
    expect(stats.endpoints.map((e) => e.data)).toEqual([
      { endpoint: 'first' },
      { endpoint: 'second' },
    ]);
  });
});
