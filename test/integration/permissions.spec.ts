// Permission violations from a real nats-server: non-fatal, reported, and scoped to what was denied.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PermissionViolationError,
  TimeoutError,
  connect,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
  type Status,
} from '../../lib/core/index.js';
import {
  startServer,
  stopAllServers,
  type NatsServerHandle,
  recordStatus,
} from '../support/index.js';

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
    expect(c.errors[0]!.message).toContain('secret.plans');
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
