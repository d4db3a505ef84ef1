import type { INestMicroservice } from '@nestjs/common';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { ClientNats, NatsRecord, NatsRecordBuilder, ServiceError } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startCalcApp } from './apps/calc.app.js';

let server: NatsServerHandle;
let app: INestMicroservice;
let client: ClientNats;

beforeAll(async () => {
  server = await startServer();
  app = await startCalcApp('rh', { servers: server.url });
  client = new ClientNats({ servers: server.url, timeout: 5000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await app?.close();
  await server?.stop();
});

/** A request record whose replies come back as records. */
const asRecord = (data: unknown, headers: Record<string, string> = {}) =>
  new NatsRecordBuilder(data).setHeaders(headers).replyAsRecord().build();

const headersOf = (r: NatsRecord) => r.headers?.toJSON();

describe('ClientNats.send() with replyAsRecord()', () => {
  it('emits the reply as a record carrying the headers the handler set', async () => {
    const reply = await firstValueFrom(
      client.send<NatsRecord>('calc.echo-headers', asRecord({}, { 'x-request-id': 'r-7' })),
    );
    expect(reply).toBeInstanceOf(NatsRecord);
    expect(reply.data).toEqual({ subject: 'calc.echo-headers' });
    expect(reply.headers?.get('x-request-id')).toBe('r-7');
    expect(reply.headers?.get('x-app')).toBe('rh');
  });

  it('gives every streamed reply its own headers, without the stream marker', async () => {
    const replies = await lastValueFrom(
      client.send<NatsRecord>('calc.count-records', asRecord(3)).pipe(toArray()),
    );
    expect(replies.map((r) => r.data)).toEqual([0, 1, 2]);
    expect(replies.map(headersOf)).toEqual([
      { 'x-index': ['0'] },
      { 'x-index': ['1'] },
      { 'x-index': ['2'] },
    ]);
  });

  it('completes a stream whose replies share one headers object', async () => {
    const replies = await lastValueFrom(
      client.send<NatsRecord>('calc.count-shared-headers', asRecord({})).pipe(toArray()),
    );
    expect(replies.map((r) => r.data)).toEqual([1, 2, 3]);
    expect(replies.map(headersOf)).toEqual(Array(3).fill({ 'x-app': ['rh'] }));
  });

  it('leaves headers undefined on replies that carry none, plain or streamed', async () => {
    const plain = await firstValueFrom(client.send<NatsRecord>('calc.sum', asRecord([1, 2])));
    expect(plain).toBeInstanceOf(NatsRecord);
    expect(plain.data).toBe(3);
    expect(plain.headers).toBeUndefined();
    const streamed = await lastValueFrom(
      client.send<NatsRecord>('calc.count', asRecord(2)).pipe(toArray()),
    );
    expect(streamed.map((r) => [r.data, r.headers])).toEqual([
      [0, undefined],
      [1, undefined],
    ]);
  });

  it('still fails with the handler error, and emits nothing for an empty stream', async () => {
    const err = await firstValueFrom(client.send('calc.fail', asRecord('rpc'))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).serviceCode).toBe(422);
    const none = await lastValueFrom(client.send('calc.empty', asRecord({})).pipe(toArray()));
    expect(none).toEqual([]);
  });

  it('changes nothing for requests without the flag', async () => {
    const record = new NatsRecordBuilder({}).setHeaders({ 'x-request-id': 'r-8' }).build();
    await expect(firstValueFrom(client.send('calc.echo-headers', record))).resolves.toEqual({
      subject: 'calc.echo-headers',
    });
    await expect(firstValueFrom(client.send('calc.sum', [2, 2]))).resolves.toBe(4);
  });
});
