// Edge cases: permission violations on the request inbox and on iterator subscriptions.
import {
  PermissionViolationError,
  type NatsConnection,
  type NatsError,
} from '../../lib/core/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { Connections } from './core-helpers.js';

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
afterAll(stopAllServers);

describe('permission violations', () => {
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
