// Edge cases: graceful shutdown of services with async handlers in flight.
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
