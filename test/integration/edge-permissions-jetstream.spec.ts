// Edge cases: permission violations around JetStream and requests.
import { setTimeout as sleep } from 'node:timers/promises';
import '../../lib/jetstream/index.js';
import {
  PermissionViolationError,
  connect,
  type NatsConnection,
  type NatsError,
} from '../../lib/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';

afterAll(stopAllServers);

const USERS = `authorization {
  users: [
    { user: "nojs", password: "pw", permissions: { publish: { deny: ["$JS.API.>"] } } },
    { user: "noorders", password: "pw", permissions: { publish: { deny: ["orders.>"] } } },
    { user: "admin", password: "pw" }
  ]
}`;

let server: NatsServerHandle;
const open: NatsConnection[] = [];
beforeAll(async () => {
  server = await startServer({ jetstream: true, config: USERS });
  const admin = await connect({ servers: server.url, user: 'admin', pass: 'pw' });
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: 'memory' });
  await admin.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

async function as(user: string): Promise<{ nc: NatsConnection; errors: NatsError[] }> {
  const errors: NatsError[] = [];
  const nc = await connect({
    servers: server.url,
    user,
    pass: 'pw',
    onError: (e) => void errors.push(e),
  });
  open.push(nc);
  return { nc, errors };
}

it('js.publish to a stream subject the user may not publish to fails with the violation, not a timeout', async () => {
  const { nc, errors } = await as('noorders');
  const started = Date.now();
  const err = await nc
    .jetstream()
    .publish('orders.1', 'x', { timeout: 2000 })
    .catch((e: unknown) => e);
  const took = Date.now() - started;
  expect(errors.some((e) => e instanceof PermissionViolationError)).toBe(true);
  expect({ type: (err as Error).constructor.name, fast: took < 1500 }).toEqual({
    type: 'PermissionViolationError',
    fast: true,
  });
  expect(nc.isConnected).toBe(true);
});

it('jetstreamManager() with the JetStream API denied fails with the violation, not a timeout', async () => {
  const { nc, errors } = await as('nojs');
  const started = Date.now();
  const err = await nc.jetstreamManager({ timeout: 2000 }).catch((e: unknown) => e);
  const took = Date.now() - started;
  await sleep(10);
  expect(errors.some((e) => e instanceof PermissionViolationError)).toBe(true);
  expect({ type: (err as Error).constructor.name, fast: took < 1500 }).toEqual({
    type: 'PermissionViolationError',
    fast: true,
  });
  expect(nc.isConnected).toBe(true);
});

it('a denied request does not disturb a concurrent allowed request on the same mux', async () => {
  const { nc } = await as('noorders');
  const { nc: admin } = await as('admin');
  admin.subscribe('svc.ok', { callback: (m) => void m.respond('fine') });
  await admin.flush();
  const denied = nc.request('orders.x', '', { timeout: 500 }).catch((e: unknown) => e);
  const ok = await nc.request('svc.ok', '', { timeout: 2000 });
  expect(ok.string()).toBe('fine');
  expect(await denied).toBeInstanceOf(Error);
  expect(nc.isConnected).toBe(true);
});
