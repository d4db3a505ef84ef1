// Permission violations from a real nats-server: non-fatal, reported, and scoped to what was denied.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
  PermissionViolationError,
  type Status,
  TimeoutError,
} from '../../lib/core/index.js';
import {
  type NatsServerHandle,
  recordStatus,
  startServer,
  stopAllServers,
} from '../support/index.js';
import { Connections } from './core-helpers.js';
import '../../lib/jetstream/index.js';

afterAll(stopAllServers);

const USERS = `authorization {
  users: [
    { user: "limited", password: "pw", permissions: {
        publish: { deny: ["secret.>", "admin.*"] },
        subscribe: { deny: ["hidden.>", "jobs.* blocked"] } } },
    { user: "noinbox", password: "pw", permissions: { subscribe: { deny: ["_INBOX.>"] } } },
    { user: "admin", password: "pw" }
  ]
}`;

const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
});

interface Watched {
  nc: NatsConnection;
  errors: NatsError[];
  seen: Status[];
}

async function client(server: NatsServerHandle, user: string, opts: ConnectOptions = {}) {
  const errors: NatsError[] = [];
  const nc = await connect({
    servers: server.url,
    user,
    pass: 'pw',
    onError: (e) => errors.push(e),
    ...opts,
  });
  open.push(nc);
  const seen = recordStatus(nc);
  return { nc, errors, seen } satisfies Watched;
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function expectViolation(err: unknown, operation: string, subject: string, queue?: string): void {
  expect(err).toBeInstanceOf(PermissionViolationError);
  expect(err).toMatchObject({ code: 'PERMISSIONS_VIOLATION', operation, subject, queue });
}

/** The connection is still up and usable: a subscription and a request both work. */
async function stillWorks({ nc, seen }: Watched): Promise<void> {
  const subject = `ok.${Math.random().toString(36).slice(2)}`;
  const responder = nc.subscribe(subject, { callback: (m) => void m.respond(`re ${m.string()}`) });
  expect((await nc.request(subject, 'ping', { timeout: 2000 })).string()).toBe('re ping');
  responder.unsubscribe();
  expect(nc.isConnected).toBe(true);
  expect(nc.stats().reconnects).toBe(0);
  expect(seen.filter((s) => s.type === 'disconnect')).toEqual([]);
}

describe('permission violations', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startServer({ config: USERS });
  });

  it('reports a denied publish through onError and status() and keeps the connection', async () => {
    const c = await client(server, 'limited');
    const admin = await client(server, 'admin');
    const spy = admin.nc.subscribe('secret.>');
    await admin.nc.flush();
    c.nc.publish('secret.plans', 'nope');
    await waitUntil(() => c.errors.length === 1, 'the violation');
    expectViolation(c.errors[0], 'publish', 'secret.plans');
    expect(c.errors[0].message).toContain('secret.plans');
    await waitUntil(() => c.seen.some((s) => s.type === 'error'), 'the status event');
    expect(c.seen.filter((s) => s.type === 'error')).toEqual([
      { type: 'error', error: c.errors[0] },
    ]);
    await expect(spy.nextMsg(200)).rejects.toBeInstanceOf(TimeoutError);
    await stillWorks(c);
  });

  it('closes only the denied subscription, with the violation', async () => {
    const c = await client(server, 'limited');
    const admin = await client(server, 'admin');
    const denied = c.nc.subscribe('hidden.a');
    const deniedWild = c.nc.subscribe('hidden.*');
    const allowed = c.nc.subscribe('visible.a');
    expectViolation(await denied.closed, 'subscription', 'hidden.a');
    expectViolation(await deniedWild.closed, 'subscription', 'hidden.*');
    expect(denied.isClosed && deniedWild.isClosed).toBe(true);
    expect(allowed.isClosed).toBe(false);
    expect(c.errors.map((e) => (e as PermissionViolationError).subject).sort()).toEqual([
      'hidden.*',
      'hidden.a',
    ]);
    const iterated: string[] = [];
    for await (const m of denied) iterated.push(m.string());
    expect(iterated).toEqual([]);
    admin.nc.publish('visible.a', 'seen');
    expect((await allowed.nextMsg(2000)).string()).toBe('seen');
    await stillWorks(c);
  });

  it('matches a queue-group violation to the subscription with that queue', async () => {
    const c = await client(server, 'limited');
    const admin = await client(server, 'admin');
    const good = c.nc.subscribe('jobs.a', { queue: 'allowed' });
    const bad = c.nc.subscribe('jobs.a', { queue: 'blocked' });
    const plain = c.nc.subscribe('jobs.a');
    expectViolation(await bad.closed, 'subscription', 'jobs.a', 'blocked');
    expect(good.isClosed || plain.isClosed).toBe(false);
    admin.nc.publish('jobs.a', 'work');
    expect((await good.nextMsg(2000)).string()).toBe('work');
    expect((await plain.nextMsg(2000)).string()).toBe('work');
    await stillWorks(c);
  });

  it('keeps working through many violations without reconnecting', async () => {
    const c = await client(server, 'limited');
    for (let i = 0; i < 100; i++) c.nc.publish(`admin.cmd${i % 5}`, String(i));
    await c.nc.flush();
    await waitUntil(() => c.errors.length === 100, '100 violations');
    expect(c.errors.every((e) => e.code === 'PERMISSIONS_VIOLATION')).toBe(true);
    // A request whose publish is denied fails at once with the violation, not at its timeout;
    // the request mux keeps serving others.
    const started = Date.now();
    const err = await c.nc.request('admin.x', '', { timeout: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionViolationError);
    expect((err as PermissionViolationError).subject).toBe('admin.x');
    expect(Date.now() - started).toBeLessThan(1000);
    await stillWorks(c);
  });

  it('fails requests at once when the request inbox subscription is denied', async () => {
    const c = await client(server, 'noinbox');
    const admin = await client(server, 'admin');
    admin.nc.subscribe('svc.echo', { callback: (m) => void m.respond('re') });
    await admin.nc.flush();
    const started = Date.now();
    const first = await c.nc.request('svc.echo', '', { timeout: 1500 }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(PermissionViolationError);
    expect((first as PermissionViolationError).code).toBe('PERMISSIONS_VIOLATION');
    expect(Date.now() - started).toBeLessThan(1000);
    const second = await c.nc.request('svc.echo', '', { timeout: 1500 }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(PermissionViolationError);
    expect(c.nc.isConnected).toBe(true);
  });

  it('works with a permitted inbox prefix when _INBOX is denied', async () => {
    const c = await client(server, 'noinbox', { inboxPrefix: 'my.inbox' });
    const admin = await client(server, 'admin');
    admin.nc.subscribe('svc.echo2', { callback: (m) => void m.respond('re') });
    await admin.nc.flush();
    expect((await c.nc.request('svc.echo2', '', { timeout: 2000 })).string()).toBe('re');
    expect(c.errors).toEqual([]);
  });

  it('closes a subscription that a permissions reload revokes, keeping the others', async () => {
    const own = await startServer({ config: USERS });
    const c = await client(own, 'admin');
    const revoked = c.nc.subscribe('later.a');
    const kept = c.nc.subscribe('other.a');
    await c.nc.flush();
    await own.reload(
      USERS.replace(
        '{ user: "admin", password: "pw" }',
        '{ user: "admin", password: "pw", permissions: { subscribe: { deny: ["later.>"] } } }',
      ),
    );
    expectViolation(await revoked.closed, 'subscription', 'later.a');
    expect(kept.isClosed).toBe(false);
    c.nc.publish('other.a', 'still');
    expect((await kept.nextMsg(2000)).string()).toBe('still');
    await stillWorks(c);
  });
});

// Permission violations on the request inbox and on iterator subscriptions.
describe('permission violations on the request inbox and iterator subscriptions', () => {
  const CONFIG = `
authorization {
  users = [
    { user: "noinbox", password: "pw", permissions: { subscribe: { deny: ["_INBOX.>", "secret.>"] } } }
    { user: "free", password: "pw" }
  ]
}
`;

  let server: NatsServerHandle;
  const conns = new Connections();
  let nc: NatsConnection;
  let svc: NatsConnection;
  let errors: NatsError[];

  beforeAll(async () => {
    server = await startServer({ config: CONFIG });
  });
  beforeEach(async () => {
    errors = [];
    nc = await conns.connect({
      servers: server.url,
      user: 'noinbox',
      pass: 'pw',
      onError: (e) => void errors.push(e),
    });
    svc = await conns.connect({ servers: server.url, user: 'free', pass: 'pw' });
  });
  afterEach(() => conns.closeAll());

  it('fails a request fast with PermissionViolationError when the inbox subscription is denied', async () => {
    svc.subscribe('perm.svc', { callback: (m) => void m.respond('ok') });
    await svc.flush();
    const start = Date.now();
    const err = await nc.request('perm.svc', 'x', { timeout: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionViolationError);
    expect(Date.now() - start).toBeLessThan(1500);
    // A second request also fails (a fresh inbox is denied again), without hanging.
    const err2 = await nc.request('perm.svc', 'x', { timeout: 3000 }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(PermissionViolationError);
    expect(nc.isConnected).toBe(true);
  });

  it('rejects nextMsg() on a denied subscription with the closing PermissionViolationError (as documented)', async () => {
    const s = nc.subscribe('secret.x');
    const closedWith = await s.closed;
    expect(closedWith).toBeInstanceOf(PermissionViolationError);
    const err = await s.nextMsg(100).catch((e: unknown) => e);
    // subscription.ts doc: "Rejects with TimeoutError, or with the closing error once the
    // subscription has ended and nothing is left."
    expect((err as NatsError).code).toBe('PERMISSIONS_VIOLATION');
  });

  it('ends a for-await on a denied subscription instead of hanging', async () => {
    const s = nc.subscribe('secret.y');
    const run = (async () => {
      let n = 0;
      for await (const _ of s) n++;
      return n;
    })();
    let timer: NodeJS.Timeout | undefined;
    const out = await Promise.race([
      run,
      new Promise((r) => (timer = setTimeout(() => r('hung'), 1500))),
    ]);
    clearTimeout(timer);
    expect(out).toBe(0);
  });
});

// Permission violations around JetStream and requests: they fail with the violation, not a timeout.
describe('permission violations around JetStream and requests', () => {
  const JS_USERS = `authorization {
  users: [
    { user: "nojs", password: "pw", permissions: { publish: { deny: ["$JS.API.>"] } } },
    { user: "noorders", password: "pw", permissions: { publish: { deny: ["orders.>"] } } },
    { user: "admin", password: "pw" }
  ]
}`;

  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startServer({ jetstream: true, config: JS_USERS });
    const admin = await connect({ servers: server.url, user: 'admin', pass: 'pw' });
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: 'memory' });
    await admin.close();
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
});
