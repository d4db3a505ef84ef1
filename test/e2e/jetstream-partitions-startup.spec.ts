// Start-up checks of partitioned @JetStreamHandlers: consumer names that two handlers would
// share, and messages a stream stored before it had the partition transform.
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  connect,
  InvalidOptionError,
  JetStreamHandler,
  type NatsConnection,
} from '../../lib/index.js';
import { describeSince, startServer, type NatsServerHandle } from '../support/index.js';
import { startApp, waitFor } from './apps/jetstream-faults.helpers.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

@Controller()
class CollidingController {
  @JetStreamHandler('pc.*', { stream: 'PC', durable: 'pc', partitions: 3 })
  partitioned(@Payload() _p: unknown) {}
  @JetStreamHandler('pc.audit', { stream: 'PC', durable: 'pc-1' })
  audit(@Payload() _p: unknown) {}
}

it('refuses to start two handlers on one stream whose consumer names collide, naming both', async () => {
  const err: unknown = await startApp(CollidingController, {
    servers: server.url,
    streams: [{ name: 'PC', subjects: ['pc.*'] }],
  }).then(
    async (s) => {
      await s.app.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidOptionError);
  expect((err as Error).message).toMatch(
    /@JetStreamHandler pc\.\* \(PC\/pc, 3 partitions\) and @JetStreamHandler pc\.audit \(PC\/pc-1\) would both use the consumer pc-1 on stream PC/,
  );
  // Refused before anything was provisioned.
  const jsm = await nc.jetstreamManager();
  await expect(jsm.streams.info('PC')).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
});

@Controller()
class BacklogController {
  static seen: string[] = [];
  @JetStreamHandler('pb.*', {
    stream: 'PB',
    durable: 'pb',
    partitions: 2,
    membership: { bucket: 'pb_members' },
  })
  handle(@Payload() p: { n: number }) {
    BacklogController.seen.push(String(p.n));
  }
}

describeSince('2.11.0', 'partitioned handler on a stream with older messages', () => {
  it('warns at start-up how many messages the transform left out, and what to do', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'PB', subjects: ['pb.*'], storage: 'memory' });
    const js = nc.jetstream();
    for (let n = 0; n < 5; n++) await js.publish(`pb.k${n % 2}`, JSON.stringify({ n }));
    const streams = [{ name: 'PB', subjects: ['pb.*'], storage: 'memory' as const }];
    const first = await startApp(BacklogController, { servers: server.url, streams });
    try {
      const warned = first.logger.lines.filter((l) => l.startsWith('warn') && /PB\/pb/.test(l));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(
        /stream PB holds 5 message\(s\) on pb\.\* stored before it had the partition transform: they belong to no partition and are never processed\. Publish them again .*purge the old ones \(jsm\.streams\.purge\('PB', \{ filter: 'pb\.\*' \}\)/,
      );
      // New messages are partitioned and processed; the old ones are not.
      await js.publish('pb.k9', JSON.stringify({ n: 9 }));
      await waitFor(() => BacklogController.seen.includes('9'), 8000);
      expect(BacklogController.seen).toEqual(['9']);
    } finally {
      await first.app.close();
    }
    // Partitioned messages are not counted; purged old ones are gone from the count.
    const second = await startApp(BacklogController, { servers: server.url, streams });
    await second.app.close();
    expect(second.logger.lines.filter((l) => /holds 5 message/.test(l))).toHaveLength(1);
    await jsm.streams.purge('PB', { filter: 'pb.*' });
    const third = await startApp(BacklogController, { servers: server.url, streams });
    await third.app.close();
    expect(third.logger.lines.filter((l) => /partition transform/.test(l))).toEqual([]);
    expect((await jsm.streams.info('PB')).state.messages).toBe(1);
  }, 30_000);
});
