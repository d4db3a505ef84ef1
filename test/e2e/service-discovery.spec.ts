import { firstValueFrom } from 'rxjs';
import { ClientNats, ServiceError, connect } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

it('exposes @MessagePattern handlers as Service API endpoints with live stats', async () => {
  const app = await startCalcApp('svc', {
    servers: server.url,
    queue: 'calc',
    service: { name: 'calc', version: '1.2.0', description: 'calculator' },
  });
  const client = new ClientNats({ servers: server.url });
  const nc = await connect({ servers: server.url });
  try {
    await expect(firstValueFrom(client.send('calc.sum', [2, 3]))).resolves.toBe(5);
    await expect(firstValueFrom(client.send('calc.sum', [1]))).resolves.toBe(1);
    const err = await firstValueFrom(client.send('calc.fail', 'rpc')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(422);

    const [info] = await nc.services.info('calc');
    expect(info.name).toBe('calc');
    expect(info.version).toBe('1.2.0');
    const subjects = info.endpoints.map((e) => e.subject);
    expect(subjects).toEqual(expect.arrayContaining(['calc.sum', 'calc.fail', 'calc.wild.*']));
    // Events are not request endpoints.
    expect(subjects).not.toContain('calc.events.>');
    expect(info.endpoints.find((e) => e.subject === 'calc.sum')?.queueGroup).toBe('calc');
    // A handler's own queue (its extras) wins over options.queue here too.
    expect(info.endpoints.find((e) => e.subject === 'calc.queued')?.queueGroup).toBe('calc-queued');

    const [stats] = await nc.services.stats('calc', info.id);
    const sum = stats.endpoints.find((e) => e.subject === 'calc.sum')!;
    expect(sum.numRequests).toBe(2);
    expect(sum.numErrors).toBe(0);
    const fail = stats.endpoints.find((e) => e.subject === 'calc.fail')!;
    expect(fail.numRequests).toBe(1);
    expect(fail.numErrors).toBe(1);
    expect(fail.lastError).toBe('422:bad input');

    // A plain request still works the same through the endpoint.
    const msg = await nc.request('calc.sum', '[10,10]');
    expect(msg.json()).toBe(20);
  } finally {
    await nc.close();
    await client.close();
    await app.close();
  }
});
