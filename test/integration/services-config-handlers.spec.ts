// Service API config validation against a real server, handler corner cases, and endpoints read as
// async iterators.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidOptionError, type NatsConnection, ServiceError } from '../../lib/core/index.js';
import { ServiceClient, type ServiceMsg } from '../../lib/services/index.js';
import { type NatsServerHandle, startServer, stopAllServers } from '../support/index.js';
import { Connections, rejection, waitUntil } from './core-helpers.js';

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

describe('config validation on a live connection', () => {
  it('accepts a 1000-char name and answers discovery by that name', async () => {
    const name = 'n'.repeat(1000);
    const svc = await nc.addService({ name, version: '1.0.0' });
    const [p] = await client.ping(name);
    expect(p.id).toBe(svc.info().id);
  });

  it.each(['1.0.0-alpha+001', '1.0.0-x.7.z.92', '1.0.0+20130313144700', '1.0.0-alpha.beta.1'])(
    'accepts valid semver %j',
    async (version) => {
      const svc = await nc.addService({ name: 'ver', version });
      const [i] = await client.info('ver', svc.info().id);
      expect(i.version).toBe(version);
    },
  );

  it.each(['v1.0.0', '1.0', '1.0.0-', '1.0.0 ', '1.0.0\n'])(
    'rejects non-semver %j',
    async (version) => {
      await expect(nc.addService({ name: 'ver', version })).rejects.toBeInstanceOf(
        InvalidOptionError,
      );
    },
  );

  it('rejects non-string metadata values and null-proto garbage', async () => {
    await expect(
      nc.addService({
        name: 'md',
        version: '1.0.0',
        metadata: { a: null } as unknown as Record<string, string>,
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(
      nc.addService({
        name: 'md',
        version: '1.0.0',
        metadata: { a: { toString: () => 'x' } } as unknown as Record<string, string>,
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('keeps a metadata key named __proto__ (from JSON) in INFO', async () => {
    const metadata = JSON.parse('{"__proto__":"p","k":"v"}') as Record<string, string>;
    expect(Object.keys(metadata)).toEqual(['__proto__', 'k']);
    const svc = await nc.addService({ name: 'proto', version: '1.0.0', metadata });
    expect(Object.keys(svc.info().metadata)).toEqual(['__proto__', 'k']);
  });

  it('an accepted queue group ending in ">" actually works with the server', async () => {
    const svc = await nc.addService({ name: 'qg', version: '1.0.0', queueGroup: 'w>' });
    svc.addEndpoint('e', { subject: 'qg.e', handler: echo });
    await nc.flush();
    expect((await caller.request('qg.e', 'x', { timeout: 1000 })).string()).toBe('x');
    expect(svc.isStopped).toBe(false);
  });

  it('an accepted queue group with "*" and unicode works with the server', async () => {
    const svc = await nc.addService({ name: 'qg2', version: '1.0.0', queueGroup: 'a*ü' });
    svc.addEndpoint('e', { subject: 'qg2.e', handler: echo });
    await nc.flush();
    expect((await caller.request('qg2.e', 'x', { timeout: 1000 })).string()).toBe('x');
    expect(svc.isStopped).toBe(false);
  });

  it('rejects invalid endpoint names / subjects / group prefixes synchronously', async () => {
    const svc = await nc.addService({ name: 'eps', version: '1.0.0' });
    expect(() => svc.addEndpoint('', echo)).toThrow(InvalidOptionError);
    expect(() => svc.addEndpoint('a.b', echo)).toThrow(InvalidOptionError);
    expect(() => svc.addEndpoint('a', { subject: 'a b', handler: echo })).toThrow(
      InvalidOptionError,
    );
    expect(() => svc.addEndpoint('a', { subject: 'a.>.b', handler: echo })).toThrow(
      InvalidOptionError,
    );
    expect(() => svc.addEndpoint('a', { subject: 'a..b', handler: echo })).toThrow(
      InvalidOptionError,
    );
    expect(() => svc.addGroup('g.>')).toThrow(InvalidOptionError);
    expect(() => svc.addGroup('>')).toThrow(InvalidOptionError);
    expect(() => svc.addGroup('a b')).toThrow(InvalidOptionError);
    expect(() => svc.addGroup('.a')).toThrow(InvalidOptionError);
    expect(() => svc.addGroup('$SRV').addEndpoint('x', echo)).toThrow(InvalidOptionError);
    expect(svc.isStopped).toBe(false);
    expect(svc.info().endpoints).toEqual([]);
  });

  it('allows wildcards in endpoint subjects and groups; nested 20 deep; empty group', async () => {
    const svc = await nc.addService({ name: 'wild', version: '1.0.0' });
    svc.addEndpoint('star', { subject: 'wild.*.x', handler: (r) => void r.respond(r.subject) });
    svc
      .addGroup('wild2')
      .addEndpoint('fwc', { subject: '>', handler: (r) => void r.respond(r.subject) });
    let g = svc.addGroup('');
    for (let i = 0; i < 20; i++) g = g.addGroup(`d${i}`);
    const deep = g.addGroup('').addEndpoint('deep', echo);
    svc
      .addGroup('*')
      .addEndpoint('sg', { subject: 'sg', handler: (r) => void r.respond(r.subject) });
    await nc.flush();
    expect(deep.subject).toBe(Array.from({ length: 20 }, (_, i) => `d${i}`).join('.') + '.deep');
    expect((await caller.request('wild.a.x')).string()).toBe('wild.a.x');
    expect((await caller.request('wild2.a.b.c')).string()).toBe('wild2.a.b.c');
    expect((await caller.request(deep.subject, 'd')).string()).toBe('d');
    expect((await caller.request('zz.sg')).string()).toBe('zz.sg');
  });

  it('duplicate endpoint names are allowed and both appear in INFO/STATS', async () => {
    const svc = await nc.addService({ name: 'dup', version: '1.0.0' });
    svc.addEndpoint('same', { subject: 'dup.a', handler: echo });
    svc.addEndpoint('same', { subject: 'dup.b', handler: echo });
    await nc.flush();
    await caller.request('dup.a');
    await caller.request('dup.b');
    const [s] = await client.stats('dup');
    expect(s.endpoints.map((e) => [e.name, e.subject, e.numRequests])).toEqual([
      ['same', 'dup.a', 1],
      ['same', 'dup.b', 1],
    ]);
  });
});

describe('handler corner cases', () => {
  it('a handler rejecting with a null-prototype object is answered 500 without unhandled rejection', async () => {
    const svc = await nc.addService({ name: 'h1', version: '1.0.0' });
    svc.addEndpoint('nullproto', async () => {
      await sleep(1);
      throw Object.create(null);
    });
    await nc.flush();
    const err = await rejection(caller.request('nullproto', undefined, { timeout: 1000 }));
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(500);
    await sleep(50);
    expect(unhandled).toEqual([]);
    const [ep] = (await svc.stats()).endpoints;
    expect(ep).toMatchObject({ numRequests: 1, numErrors: 1 });
  });

  it('a handler throwing synchronously a null-prototype object is answered 500', async () => {
    const svc = await nc.addService({ name: 'h1b', version: '1.0.0' });
    svc.addEndpoint('nullproto2', () => {
      throw Object.create(null);
    });
    await nc.flush();
    const err = await rejection(caller.request('nullproto2', undefined, { timeout: 1000 }));
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(500);
    expect(svc.isStopped).toBe(false);
  });

  it('throwing non-Error values: string, undefined, number', async () => {
    const svc = await nc.addService({ name: 'h2', version: '1.0.0' });
    /* eslint-disable @typescript-eslint/only-throw-error -- non-Error values thrown on purpose */
    svc.addEndpoint('str', () => {
      throw 'plain';
    });
    svc.addEndpoint('undef', async () => {
      throw undefined;
    });
    /* eslint-enable @typescript-eslint/only-throw-error */
    svc.addEndpoint('emptymsg', () => {
      throw new Error('');
    });
    await nc.flush();
    expect(await rejection(caller.request('str'))).toMatchObject({
      serviceCode: 500,
      description: 'plain',
    });
    expect(await rejection(caller.request('undef'))).toMatchObject({ serviceCode: 500 });
    const e = (await rejection(caller.request('emptymsg'))) as ServiceError;
    expect(e.serviceCode).toBe(500);
    expect(e.description.length).toBeGreaterThan(0);
    const eps = (await svc.stats()).endpoints;
    expect(eps.map((x) => x.numErrors)).toEqual([1, 1, 1]);
  });

  it('responding twice sends one counted request; processing time recorded once', async () => {
    const svc = await nc.addService({ name: 'h3', version: '1.0.0' });
    svc.addEndpoint('twice', (req) => {
      req.respond('one');
      req.respond('two');
    });
    await nc.flush();
    expect((await caller.request('twice')).string()).toBe('one');
    const [ep] = (await svc.stats()).endpoints;
    expect(ep).toMatchObject({ numRequests: 1, numErrors: 0 });
    expect(nc.isClosed).toBe(false);
  });

  it('respondError with non-integer code inside handler → 500, counted once', async () => {
    const svc = await nc.addService({ name: 'h4', version: '1.0.0' });
    svc.addEndpoint('float', (req) => void req.respondError(1.5, 'x'));
    svc.addEndpoint('nan', async (req) => void req.respondError(NaN, 'x'));
    svc.addEndpoint('empty', (req) => void req.respondError(400, ''));
    await nc.flush();
    for (const s of ['float', 'nan', 'empty']) {
      const e = (await rejection(caller.request(s))) as ServiceError;
      expect(e).toBeInstanceOf(ServiceError);
      expect(e.serviceCode).toBe(500);
    }
    const eps = (await svc.stats()).endpoints;
    expect(eps.map((x) => [x.numRequests, x.numErrors])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  it('respondError with multi-line / unicode description, data and extra headers', async () => {
    const svc = await nc.addService({ name: 'h5', version: '1.0.0' });
    svc.addEndpoint('ml', (req) =>
      req.respondError(422, 'line1\r\nline2\nünï ✓', 'payload', { headers: { 'X-Extra': 'y' } }),
    );
    await nc.flush();
    const e = (await rejection(caller.request('ml'))) as ServiceError;
    expect(e.serviceCode).toBe(422);
    expect(e.description).toBe('line1 line2 ünï ✓');
    const m = e.msg as unknown as {
      headers: { get(n: string): string | undefined };
      string(): string;
    };
    expect(m.headers.get('X-Extra')).toBe('y');
    expect(m.string()).toBe('payload');
  });

  it('respondError with a description that is only line breaks is refused like an empty one (a 500 goes out)', async () => {
    const svc = await nc.addService({ name: 'h5b', version: '1.0.0' });
    svc.addEndpoint('nl', (req) => void req.respondError(400, '\n'));
    await nc.flush();
    const e = (await rejection(caller.request('nl'))) as ServiceError;
    expect(e.serviceCode).toBe(500);
    expect(e.description).toMatch(/description is required/);
  });

  it('respondError with a huge integer code sends a code that parses as that number', async () => {
    const svc = await nc.addService({ name: 'h5c', version: '1.0.0' });
    svc.addEndpoint('big', (req) => void req.respondError(1e21, 'big'));
    await nc.flush();
    const e = (await rejection(caller.request('big'))) as ServiceError;
    const raw = (e.msg as unknown as { headers: { get(n: string): string } }).headers.get(
      'Nats-Service-Error-Code',
    );
    expect(raw).toMatch(/^-?\d+$/);
  });

  it('a handler returning a value without respond() does not reply, request counted', async () => {
    const svc = await nc.addService({ name: 'h6', version: '1.0.0' });
    svc.addEndpoint('ret', () => 'value');
    await nc.flush();
    await expect(caller.request('ret', undefined, { timeout: 200 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const [ep] = (await svc.stats()).endpoints;
    expect(ep.numRequests).toBe(1);
  });

  it('average_processing_time is processing_time / num_requests (spec §4) even when some never answer', async () => {
    const svc = await nc.addService({ name: 'h7', version: '1.0.0' });
    let n = 0;
    svc.addEndpoint('sometimes', (req) => {
      n++;
      if (n % 2 === 0) return; // never answers
      setTimeout(() => void req.respond('ok'), 20);
    });
    await nc.flush();
    await Promise.allSettled(
      Array.from({ length: 6 }, () => caller.request('sometimes', undefined, { timeout: 300 })),
    );
    const [s] = await client.stats('h7');
    const ep = s.endpoints[0];
    expect(ep.numRequests).toBe(6);
    // Go: avg = processing_time / num_requests
    expect(Math.abs(ep.averageProcessingTime - ep.processingTime / ep.numRequests)).toBeLessThan(
      0.001,
    );
  });

  it('a request without reply to a handler that answers later is counted as error, no crash', async () => {
    const svc = await nc.addService({ name: 'h8', version: '1.0.0' });
    const thrown: unknown[] = [];
    svc.addEndpoint('later', (req) => {
      setTimeout(() => {
        try {
          req.respond('x');
        } catch (e) {
          thrown.push(e);
        }
      }, 10);
    });
    await nc.flush();
    caller.publish('later', 'x');
    await caller.flush();
    await waitUntil(() => thrown.length === 1, 1000, 'respond throws');
    expect(svc.isStopped).toBe(false);
  });
});

describe('iterated endpoints', () => {
  it('breaking out of one endpoint iterator: what happens to the service', async () => {
    const svc = await nc.addService({ name: 'itb', version: '1.0.0' });
    const ep = svc.addEndpoint('a', { subject: 'itb.a' });
    svc.addEndpoint('b', { subject: 'itb.b', handler: (r) => void r.respond('b') });
    await nc.flush();
    const loop = (async () => {
      for await (const req of ep) {
        req.respond('a');
        break;
      }
    })();
    expect((await caller.request('itb.a', undefined, { timeout: 500 })).string()).toBe('a');
    await loop;
    await sleep(50);
    // Observation only: report the state.
    const state = { stopped: svc.isStopped, stoppedWith: undefined as unknown };
    if (svc.isStopped) state.stoppedWith = await svc.stopped;
    // The other endpoint should keep working.
    expect((await caller.request('itb.b', undefined, { timeout: 500 })).string()).toBe('b');
    expect(state.stopped).toBe(false);
  });

  it('processing time of an iterated request that is answered is counted once, num_requests exact', async () => {
    const svc = await nc.addService({ name: 'itc', version: '1.0.0' });
    const ep = svc.addEndpoint('a', { subject: 'itc.a' });
    await nc.flush();
    void (async () => {
      for await (const req of ep) {
        if (req.string() === 'err') req.respondError(400, 'bad');
        else req.respond('ok');
        await sleep(30); // after answering: must not count
      }
    })();
    for (const d of ['1', 'err', '2']) await caller.request('itc.a', d).catch(() => undefined);
    await sleep(40);
    const [s] = (await svc.stats()).endpoints;
    expect(s).toMatchObject({ numRequests: 3, numErrors: 1, lastError: '400:bad' });
    expect(s.averageProcessingTime).toBeLessThan(20);
  });
});
