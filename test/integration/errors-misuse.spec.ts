// Misuse of the JetStream consumers gets the class the core uses for the same misuse
// (InvalidOperationError), on a real server. The server-free cases are in test/unit/errors-codes.
import {
  connect,
  ErrorCode,
  InvalidOperationError,
  type NatsConnection,
  type NatsError,
} from '../../lib/core/index.js';
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import { startServer, stopAllServers } from '../support/index.js';

const callbackIterated = (it: AsyncIterable<unknown>): Promise<unknown> =>
  it[Symbol.asyncIterator]()
    .next()
    .then(
      () => undefined,
      (err: unknown) => err,
    );

const expectInvalidOperation = (err: unknown): void => {
  expect(err).toBeInstanceOf(InvalidOperationError);
  expect((err as NatsError).code).toBe(ErrorCode.INVALID_OPERATION);
};

describe('one misuse, one error class, on a server', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    const server = await startServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'MISUSE', subjects: ['misuse.>'] });
    await jsm.consumers.add('MISUSE', { durableName: 'c', ackPolicy: 'explicit' });
  });
  afterAll(async () => {
    await nc?.close();
    await stopAllServers();
  });

  it('iterating a consume() with a callback', async () => {
    const c = await jetstream(nc).consumers.get('MISUSE', 'c');
    const cm = c.consume({ callback: () => undefined });
    try {
      expectInvalidOperation(await callbackIterated(cm));
    } finally {
      cm.stop();
    }
  });

  it('iterating an ordered consumer with a callback', async () => {
    const oc = await jetstream(nc).consumers.ordered('MISUSE', { callback: () => undefined });
    try {
      expectInvalidOperation(await callbackIterated(oc));
    } finally {
      oc.stop();
    }
  });
});
