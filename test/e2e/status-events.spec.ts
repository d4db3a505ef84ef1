import { firstValueFrom } from 'rxjs';
import { ClientNats, ServerNats, type NatsConnection } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

async function waitFor(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('reports connected, disconnected, reconnecting and reconnected on both sides', async () => {
  const serverEvents: string[] = [];
  const clientEvents: string[] = [];
  const statuses: string[] = [];
  const opts = { servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 };
  const app = await startCalcApp('st', opts);
  // NestMicroservice keeps the strategy it was given as `serverInstance`.
  const strategy = (app as unknown as { serverInstance: ServerNats }).serverInstance;
  expect(strategy).toBeInstanceOf(ServerNats);
  const client = new ClientNats(opts);
  client.on('connected', () => clientEvents.push('connected'));
  client.on('disconnected', () => clientEvents.push('disconnected'));
  client.on('reconnecting', () => clientEvents.push('reconnecting'));
  client.on('reconnected', () => clientEvents.push('reconnected'));
  const sub = client.status.subscribe((s) => statuses.push(s));
  try {
    const nc = await client.connect();
    expect(clientEvents).toEqual(['connected']);
    const unwrapped = client.unwrap<NatsConnection>();
    expect(unwrapped).toBe(nc);
    strategy.on('disconnected', () => serverEvents.push('disconnected'));
    strategy.on('reconnected', () => serverEvents.push('reconnected'));
    expect(strategy.unwrap<NatsConnection>().isConnected).toBe(true);
    await server.restart();
    await waitFor(() => clientEvents.includes('reconnected'));
    expect(clientEvents.slice(0, 3)).toEqual(['connected', 'disconnected', 'reconnecting']);
    expect(clientEvents.at(-1)).toBe('reconnected');
    expect(statuses[0]).toBe('connected');
    expect(statuses).toContain('disconnected');
    expect(statuses.at(-1)).toBe('connected');
    await waitFor(() => serverEvents.includes('reconnected'));
    expect(serverEvents).toEqual(['disconnected', 'reconnected']);
  } finally {
    sub.unsubscribe();
    await client.close();
    await app.close();
  }
});

it('reports the server side status and each reconnect attempt while nats-server is down', async () => {
  const opts = { servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 };
  const app = await startCalcApp('st-down', opts);
  const strategy = (app as unknown as { serverInstance: ServerNats }).serverInstance;
  const statuses: string[] = [];
  const attempts: number[] = [];
  const sub = strategy.status.subscribe((s) => statuses.push(s));
  strategy.on('reconnecting', (attempt) => attempts.push(attempt));
  const client = new ClientNats(opts);
  try {
    expect(statuses).toEqual(['connected']);
    await server.kill();
    // Down for good until restarted: attempts keep failing, so 'reconnecting' must show.
    await waitFor(() => attempts.length >= 2, 10_000);
    expect(attempts.slice(0, 2)).toEqual([1, 2]);
    expect(statuses.slice(0, 3)).toEqual(['connected', 'disconnected', 'reconnecting']);
    await server.restart();
    await waitFor(() => statuses.at(-1) === 'connected', 15_000);
    // The app serves again over its restored subscriptions (flushed: the server has them).
    await strategy.unwrap<NatsConnection>().flush();
    await expect(firstValueFrom(client.send('calc.sum', [2, 3]))).resolves.toBe(5);
  } finally {
    sub.unsubscribe();
    await client.close();
    await app.close();
  }
});
