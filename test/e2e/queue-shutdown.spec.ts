import { firstValueFrom } from 'rxjs';
import { ClientNats, type NatsConnection } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { seen, startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

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
    const byA = seen.handledBy.filter((n) => n === 'qa').length;
    const byB = seen.handledBy.filter((n) => n === 'qb').length;
    expect(byA + byB).toBe(200);
    expect(byA).toBeGreaterThan(20);
    expect(byB).toBeGreaterThan(20);
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
