// Edge cases: endpoints read as async iterators.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '../../lib/core/index.js';
import '../../lib/services/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections } from './core-helpers.js';

let server: NatsServerHandle;
const conns = new Connections();
let nc: NatsConnection;
let caller: NatsConnection;

beforeAll(async () => {
  server = await startServer();
});
beforeEach(async () => {
  nc = await conns.connect({ servers: server.url });
  caller = await conns.connect({ servers: server.url });
});
afterEach(() => conns.closeAll());
afterAll(stopAllServers);

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
