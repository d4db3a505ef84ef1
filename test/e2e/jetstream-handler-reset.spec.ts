// A JetStream handler whose durable is reset by an operator (`jsm.consumers.reset()`, nats-server
// 2.14): the handler keeps working, handles again what the reset moved back over, and then the
// messages published after it, each acked.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  connect,
  JetStreamContext,
  JetStreamHandler,
  type NatsConnection,
  type SettledEvent,
} from '../../lib/index.js';
import { describeSince, startServer, type NatsServerHandle } from '../support/index.js';
import { startApp, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
const handled: number[] = [];

@Controller()
class ResetController {
  @JetStreamHandler('rs.>', { stream: 'RS', durable: 'rs-work', ackWait: 5000 })
  work(@Payload() _p: unknown, @Ctx() ctx: JetStreamContext) {
    handled.push(ctx.getMetadata().sequence.stream);
  }
}

describeSince('2.14.0', 'a JetStream handler after its durable is reset (2.14)', () => {
  beforeAll(async () => {
    server = await startServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'RS', subjects: ['rs.>'], storage: 'memory' });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('handles again from the sequence reset to, then every new message, each acked', async () => {
    const settled: SettledEvent[] = [];
    const { app } = await startApp(ResetController, { servers: server.url }, settled);
    try {
      const js = nc.jetstream();
      for (let i = 1; i <= 4; i++) await js.publish(`rs.${i}`, JSON.stringify({ i }));
      const acks = () => settled.filter((e) => e.outcome === 'ack').length;
      await waitFor(() => acks() === 4, 5000, 'first four acked');
      const jsm = await nc.jetstreamManager();
      const info = await jsm.consumers.reset('RS', 'rs-work', 3);
      expect(info.resetSeq).toBe(3);
      for (let i = 5; i <= 6; i++) await js.publish(`rs.${i}`, JSON.stringify({ i }));
      await waitFor(() => acks() === 8, 10_000, 'replayed and new messages acked');
      expect(handled).toEqual([1, 2, 3, 4, 3, 4, 5, 6]);
      expect(settled.every((e) => e.outcome === 'ack')).toBe(true);
      // Without a sequence the reset goes back to the ack floor: everything was acked, so
      // nothing is handled again, and the handler goes on with what comes next.
      expect((await jsm.consumers.reset('RS', 'rs-work')).resetSeq).toBe(7);
      await js.publish('rs.7', JSON.stringify({ i: 7 }));
      await waitFor(() => acks() === 9, 10_000, 'message after the second reset acked');
      expect(handled).toEqual([1, 2, 3, 4, 3, 4, 5, 6, 7]);
      const after = await jsm.consumers.info('RS', 'rs-work');
      expect(after.numAckPending).toBe(0);
    } finally {
      await app.close();
    }
  }, 20_000);
});
