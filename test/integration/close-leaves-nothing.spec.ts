// A closed connection leaves no timer, socket or other handle that keeps the process alive, so
// a user's process exits by itself once it closed its connections (and jest's workers exit
// without being forced). Each test compares the ref'd resources of the process before and after.
import { connect, type NatsConnection } from '../../lib/core/index.js';
import '../../lib/jetstream/index.js';
import '../../lib/services/index.js';
import {
  getFreePort,
  startServer,
  stopAllServers,
  type NatsServerHandle,
} from '../support/index.js';
import { rejection } from './core-helpers.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
});
afterAll(stopAllServers);

/** How many of each kind of resource keep the event loop alive. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** The resources once the ones just closed (a server's readiness probe...) are gone. */
async function baseline(): Promise<Map<string, number>> {
  let last = '';
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const now = JSON.stringify([...resources()].sort());
    if (now === last) break;
    last = now;
  }
  return resources();
}

/** The kinds of which there are more now than in `before`, after letting close events run. */
async function leftSince(before: Map<string, number>): Promise<Record<string, number>> {
  let extra: Record<string, number> = {};
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    extra = {};
    for (const [kind, n] of resources()) {
      // The timer of the line above has just fired; jest's own timers are in `before`.
      const more = n - (before.get(kind) ?? 0);
      if (more > 0) extra[kind] = more;
    }
    if (Object.keys(extra).length === 0) break;
  }
  return extra;
}

it('core: requests, subscriptions, flush, a service, then close()', async () => {
  const before = await baseline();
  const nc = await connect({ servers: server.url, pingInterval: 60_000 });
  const svc = await nc.addService({ name: 'leaks', version: '1.0.0' });
  svc.addEndpoint('echo', (req) => void req.respond(req.data));
  const sub = nc.subscribe('leak.sub');
  nc.publish('leak.sub', 'x');
  await sub.nextMsg(1000);
  await rejection(sub.nextMsg(10));
  // A request answered long before its timeout leaves the shared timer armed.
  expect((await nc.request('echo', 'hi', { timeout: 60_000 })).string()).toBe('hi');
  await rejection(nc.request('leak.nobody', '', { timeout: 60_000 }));
  await nc.flush();
  await nc.rtt();
  await nc.close();
  expect(await leftSince(before)).toEqual({});
});

it('jetstream: publish, fetch, consume, then close()', async () => {
  const before = await baseline();
  const nc: NatsConnection = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'LEAKS', subjects: ['leaks.>'], storage: 'memory' });
  const js = nc.jetstream();
  await js.publish('leaks.a', '1');
  const consumer = await js.pullSubscribe('leaks.>', { durable: 'w' });
  const [m] = await consumer.fetch(1, { timeout: 2000 });
  m?.ack();
  const messages = consumer.consume({ idleHeartbeat: 1000, expires: 5000 });
  await js.publish('leaks.b', '2');
  for await (const msg of messages) {
    msg.ack();
    break;
  }
  await nc.close();
  expect(await leftSince(before)).toEqual({});
});

it('a connection closed while it waits to reconnect', async () => {
  const before = await baseline();
  const other = await startServer();
  const nc = await connect({ servers: other.url, reconnectTimeWait: 60_000 });
  const reconnecting = (async () => {
    for await (const s of nc.status()) if (s.type === 'disconnect') return;
  })();
  await other.stop();
  await reconnecting;
  await nc.close();
  expect(await leftSince(before)).toEqual({});
});

it('a connect that failed', async () => {
  const before = await baseline();
  const port = await getFreePort();
  await rejection(connect({ servers: `127.0.0.1:${port}`, timeout: 500 }));
  expect(await leftSince(before)).toEqual({});
});
