// Service API endpoints against a real nats-server: handlers, groups, queue groups, errors, stop.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InvalidOperationError,
  NoRespondersError,
  PermissionViolationError,
  ServiceError,
  type NatsConnection,
} from '../../lib/core/index.js';
import '../../lib/services/index.js';
import type { Service, ServiceMsg } from '../../lib/services/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections, rejection, waitUntil } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;

beforeAll(async () => {
  server = await startServer({
    config: `authorization {
  users: [
    { user: "nosrv", password: "pw", permissions: { subscribe: { deny: ["$SRV.>"] } } },
    { user: "nosecret", password: "pw", permissions: { subscribe: { deny: ["secret.>"] } } },
    { user: "admin", password: "pw" }
  ]
}`,
  });
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url, user: 'admin', pass: 'pw' });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

const admin = (): Promise<NatsConnection> =>
  conns.connect({ servers: server.url, user: 'admin', pass: 'pw' });

const echo = (req: ServiceMsg): void => void req.respond(`echo:${req.string()}`);

describe('service endpoints', () => {
  it('answers on endpoints and nested groups, each subscribed with queue group q by default', async () => {
    const svc = await nc.addService({ name: 'calc', version: '1.0.0' });
    svc.addEndpoint('add', echo);
    const math = svc.addGroup('math');
    math.addEndpoint('mul', { handler: echo, subject: 'times' });
    math.addGroup('v2').addEndpoint('div', echo);
    await nc.flush();
    expect((await nc.request('add', 'a')).string()).toBe('echo:a');
    expect((await nc.request('math.times', 'b')).string()).toBe('echo:b');
    expect((await nc.request('math.v2.div', 'c')).string()).toBe('echo:c');
    expect(svc.info().endpoints).toEqual([
      { name: 'add', subject: 'add', queueGroup: 'q' },
      { name: 'mul', subject: 'math.times', queueGroup: 'q' },
      { name: 'div', subject: 'math.v2.div', queueGroup: 'q' },
    ]);
    expect(svc.info().id).toMatch(/^[0-9A-Za-z]{22}$/);
  });

  it('shares the load between instances of one queue group', async () => {
    const services: Service[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await admin();
      const s = await c.addService({ name: 'shared', version: '1.0.0' });
      s.addEndpoint('work', { subject: 'shared.work', handler: echo });
      await c.flush();
      services.push(s);
    }
    await Promise.all(Array.from({ length: 90 }, (_, i) => nc.request('shared.work', String(i))));
    const counts = await Promise.all(
      services.map(async (s) => (await s.stats()).endpoints[0].numRequests),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(90);
    for (const n of counts) expect(n).toBeGreaterThan(0);
  });

  it('delivers every request to each queue group, and to every instance without one', async () => {
    const seen = { main: 0, audit: 0, all: 0 };
    const start = async (queueGroup: string | false | undefined, key: keyof typeof seen) => {
      const c = await admin();
      const s = await c.addService({ name: 'fanout', version: '1.0.0', queueGroup });
      s.addEndpoint('job', {
        subject: 'fanout.job',
        handler: (req) => {
          seen[key]++;
          if (key === 'main') req.respond('ok');
        },
      });
      await c.flush();
      return s;
    };
    await start(undefined, 'main');
    await start(undefined, 'main');
    const audit = await start('audit', 'audit');
    await start(false, 'all');
    await start(false, 'all');
    for (let i = 0; i < 20; i++) await nc.request('fanout.job', String(i));
    await waitUntil(() => seen.audit === 20 && seen.all === 40, 2000, 'fan-out deliveries');
    expect(seen.main).toBe(20);
    expect(audit.info().endpoints[0].queueGroup).toBe('audit');
  });

  it('lets an endpoint without a handler be read as an async iterator', async () => {
    const svc = await nc.addService({ name: 'iter', version: '1.0.0' });
    const ep = svc.addEndpoint('iter', { subject: 'iter.next' });
    await nc.flush();
    void (async () => {
      for await (const req of ep) {
        await sleep(20);
        req.respond(req.string().toUpperCase());
      }
    })();
    expect((await nc.request('iter.next', 'abc')).string()).toBe('ABC');
    expect((await nc.request('iter.next', 'def')).string()).toBe('DEF');
    const [stats] = (await svc.stats()).endpoints;
    expect(stats.numRequests).toBe(2);
    expect(stats.processingTime).toBeGreaterThanOrEqual(38);
    const withHandler = svc.addEndpoint('h', echo);
    await expect(withHandler[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(
      InvalidOperationError,
    );
  });
});

describe('service errors', () => {
  it('respondError sets both headers, counts the error, and request() rejects with ServiceError', async () => {
    const svc = await nc.addService({ name: 'errs', version: '1.0.0' });
    svc.addEndpoint('bad', (req) => req.respondError(418, "I'm a teapot", 'details'));
    await nc.flush();
    const caller = await admin();
    const err = (await rejection(caller.request('bad'))) as ServiceError;
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({
      code: 'SERVICE_ERROR',
      serviceCode: 418,
      description: "I'm a teapot",
    });
    const reply = err.msg as { headers: { get(n: string): string }; string(): string };
    expect(reply.headers.get('Nats-Service-Error')).toBe("I'm a teapot");
    expect(reply.headers.get('Nats-Service-Error-Code')).toBe('418');
    expect(reply.string()).toBe('details');
    const [stats] = (await svc.stats()).endpoints;
    expect(stats).toMatchObject({ numRequests: 1, numErrors: 1, lastError: "418:I'm a teapot" });
  });

  it('answers a throwing handler (sync or async) with code 500 and counts it', async () => {
    const svc = await nc.addService({ name: 'throws', version: '1.0.0' });
    svc.addEndpoint('sync', () => {
      throw new Error('boom');
    });
    svc.addEndpoint('async', async () => {
      await sleep(5);
      throw new Error('later\nboom');
    });
    await nc.flush();
    const a = (await rejection(nc.request('sync'))) as ServiceError;
    expect(a).toMatchObject({ serviceCode: 500, description: 'boom' });
    const b = (await rejection(nc.request('async'))) as ServiceError;
    expect(b).toMatchObject({ serviceCode: 500, description: 'later boom' });
    const stats = (await svc.stats()).endpoints;
    expect(stats.map((e) => [e.numRequests, e.numErrors, e.lastError])).toEqual([
      [1, 1, '500:boom'],
      [1, 1, '500:later\nboom'],
    ]);
  });

  it('answers 500 when the reply cannot be sent, and counts unanswerable requests', async () => {
    const svc = await nc.addService({ name: 'edge', version: '1.0.0' });
    svc.addEndpoint('big', (req) => req.respond(new Uint8Array(nc.maxPayload + 1)));
    svc.addEndpoint('noreply', (req) => req.respond('nobody listens'));
    await nc.flush();
    const err = (await rejection(nc.request('big'))) as ServiceError;
    expect(err).toMatchObject({ serviceCode: 500 });
    expect(err.description).toMatch(/max_payload/);
    nc.publish('noreply', 'fire and forget');
    await nc.flush();
    const [big, noreply] = (await svc.stats()).endpoints;
    expect(big).toMatchObject({ numRequests: 1, numErrors: 1 });
    expect(noreply).toMatchObject({ numRequests: 1, numErrors: 1 });
    expect(noreply.lastError).toMatch(/^500:.*reply subject/);
  });

  it('rejects an invalid config with InvalidOptionError', async () => {
    await expect(nc.addService({ name: 'bad name', version: '1.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(nc.addService({ name: 'ok', version: 'one' })).rejects.toThrow(/SemVer/);
  });
});

describe('service lifecycle', () => {
  it('stop() lets in-flight requests finish, then resolves stopped; the connection stays open', async () => {
    const svc = await nc.addService({ name: 'life', version: '1.0.0' });
    svc.addEndpoint('slow', async (req) => {
      await sleep(100);
      req.respond('done');
    });
    await nc.flush();
    const caller = await admin();
    const pending = caller.request('slow', undefined, { timeout: 2000 });
    await sleep(20);
    await svc.stop();
    expect(svc.isStopped).toBe(true);
    expect(await svc.stopped).toBeUndefined();
    expect((await pending).string()).toBe('done');
    await expect(caller.request('slow')).rejects.toBeInstanceOf(NoRespondersError);
    await expect(caller.request('$SRV.PING.life')).rejects.toBeInstanceOf(NoRespondersError);
    expect(nc.isClosed).toBe(false);
    expect(() => svc.addEndpoint('late', echo)).toThrow(InvalidOperationError);
  });

  it('resolves stopped with the error given to stop(err)', async () => {
    const svc = await nc.addService({ name: 'life', version: '1.0.0' });
    const err = new Error('going away');
    await svc.stop(err);
    expect(await svc.stopped).toBe(err);
  });

  it('stops when the connection closes or drains', async () => {
    const c1 = await admin();
    const s1 = await c1.addService({ name: 'life', version: '1.0.0' });
    s1.addEndpoint('x', echo);
    const c2 = await admin();
    const s2 = await c2.addService({ name: 'life', version: '1.0.0' });
    await c1.close();
    expect(await s1.stopped).toBeUndefined();
    await c2.drain();
    await s2.stopped;
    expect(s1.isStopped && s2.isStopped).toBe(true);
  });

  it('rejects addService when the $SRV subjects are denied', async () => {
    const c = await conns.connect({ servers: server.url, user: 'nosrv', pass: 'pw' });
    await expect(c.addService({ name: 'denied', version: '1.0.0' })).rejects.toBeInstanceOf(
      PermissionViolationError,
    );
  });

  it('stops with the permission error when an endpoint subject is denied', async () => {
    const c = await conns.connect({ servers: server.url, user: 'nosecret', pass: 'pw' });
    const svc = await c.addService({ name: 'partial', version: '1.0.0' });
    svc.addEndpoint('secret', { subject: 'secret.data', handler: echo });
    const err = await svc.stopped;
    expect(err).toBeInstanceOf(PermissionViolationError);
    expect(c.isClosed).toBe(false);
  });
});
