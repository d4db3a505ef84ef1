import { firstValueFrom } from 'rxjs';
import { ClientNats, type NatsConnection, type ServiceConfig } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { seen, startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

async function waitFor(cond: () => boolean, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Apps `a` and `b` took `total` requests between them, each a fair part of them. */
function expectShared(handledBy: string[], a: string, b: string, total: number): void {
  const byA = handledBy.filter((n) => n === a).length;
  const byB = handledBy.filter((n) => n === b).length;
  expect(byA + byB).toBe(total);
  expect(byA).toBeGreaterThan(total / 10);
  expect(byB).toBeGreaterThan(total / 10);
}

it('shares requests between two app instances in one queue group', async () => {
  const a = await startCalcApp('qa', { servers: server.url, queue: 'calc' });
  const b = await startCalcApp('qb', { servers: server.url, queue: 'calc' });
  const client = new ClientNats({ servers: server.url });
  try {
    seen.handledBy.length = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => firstValueFrom(client.send('calc.sum', [i, 1]))),
    );
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expectShared(seen.handledBy, 'qa', 'qb', 200);
  } finally {
    await client.close();
    await a.close();
    await b.close();
  }
});

it('puts a handler in the queue group its extras name, over options.queue', async () => {
  // Different default groups: without its own group, each app would take every request.
  const a = await startCalcApp('xa', { servers: server.url, queue: 'only-xa' });
  const b = await startCalcApp('xb', { servers: server.url, queue: 'only-xb' });
  const client = new ClientNats({ servers: server.url });
  try {
    seen.queuedBy.length = 0;
    seen.handledBy.length = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => firstValueFrom(client.send('calc.queued', i))),
    );
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // calc.sum keeps the default groups, so both apps get this one; published after the
    // calc.queued requests, it reaches each app after every one of them that app got.
    await firstValueFrom(client.send('calc.sum', [1]));
    await waitFor(() => seen.handledBy.includes('xa') && seen.handledBy.includes('xb'));
    expectShared(seen.queuedBy, 'xa', 'xb', 200);
  } finally {
    await client.close();
    await a.close();
    await b.close();
  }
});

it('lets in-flight requests finish when the app closes', async () => {
  const app = await startCalcApp('g', { servers: server.url, gracefulShutdownTimeout: 2000 });
  const client = new ClientNats({ servers: server.url, timeout: 3000 });
  try {
    await client.connect();
    const pending = firstValueFrom(client.send('calc.slow', 300));
    await client.unwrap<NatsConnection>().flush();
    await new Promise((r) => setTimeout(r, 50));
    const closing = app.close();
    await expect(pending).resolves.toBe('slept 300');
    await closing;
  } finally {
    await client.close();
  }
});

const calcService: ServiceConfig = { name: 'calc', version: '1.0.0' };

it.each([
  ['core subscriptions', undefined],
  ['Service API endpoints', calcService],
])(
  'closes within gracefulShutdownTimeout while a handler runs past it (%s)',
  async (_kind, service) => {
    const name = service ? 'bounded-svc' : 'bounded-core';
    const app = await startCalcApp(name, {
      servers: server.url,
      gracefulShutdownTimeout: 1000,
      ...(service ? { service } : {}),
    });
    // Longer than the handler: a reply that still got out would arrive before the timeout.
    const client = new ClientNats({ servers: server.url, timeout: 5000 });
    try {
      const pending = firstValueFrom(client.send('calc.slow', 4000)).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await waitFor(() => seen.slowStartedIn.includes(name));
      const started = Date.now();
      await app.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(900);
      // About 1 s; the bound is well short of the 4 s handler, with room for a loaded machine.
      expect(took).toBeLessThan(3000);
      expect(await pending).toEqual({ error: expect.objectContaining({ code: 'TIMEOUT' }) });
    } finally {
      await client.close();
      await app.close();
    }
  },
);

it('fails pending sends with ConnectionClosedError when the client closes', async () => {
  const app = await startCalcApp('c', { servers: server.url });
  const client = new ClientNats({ servers: server.url, timeout: 3000 });
  try {
    await client.connect();
    const pending = firstValueFrom(client.send('calc.slow', 500)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    await client.close();
    const err = (await pending) as { code?: string };
    expect(err.code).toBe('CONNECTION_CLOSED');
  } finally {
    await app.close();
  }
});

it('fails pending sends at once when its connection closes under the client (no timer left)', async () => {
  const app = await startCalcApp('u', { servers: server.url });
  const client = new ClientNats({ servers: server.url, timeout: 5000 });
  try {
    await client.connect();
    expect(await firstValueFrom(client.send('calc.sum', [1, 2]))).toBe(3);
    const pending = firstValueFrom(client.send('calc.slow', 500)).catch((e: unknown) => e);
    await waitFor(() => seen.slowStartedIn.includes('u'));
    // Closed without client.close() (as when reconnects are given up): before, the send waited
    // for its 5 s timeout, a timer that kept the process alive after everything was closed.
    const started = Date.now();
    await client.unwrap<NatsConnection>().close();
    const err = (await pending) as { code?: string };
    expect(err.code).toBe('CONNECTION_CLOSED');
    expect(Date.now() - started).toBeLessThan(1000);
  } finally {
    await client.close();
    await app.close();
  }
});

it('collapses concurrent connect() calls into one connection', async () => {
  const client = new ClientNats({ servers: server.url });
  try {
    const [n1, n2, n3] = await Promise.all([client.connect(), client.connect(), client.connect()]);
    expect(n1).toBe(n2);
    expect(n2).toBe(n3);
  } finally {
    await client.close();
  }
});
