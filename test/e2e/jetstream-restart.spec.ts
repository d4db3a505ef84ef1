import { connect, type SettledEvent } from '../../lib/index.js';
import { startServer, type NatsServerHandle } from '../support/index.js';
import { startJobsApp } from './apps/jobs.app.js';

let server: NatsServerHandle;

beforeAll(async () => {
  server = await startServer({ jetstream: true });
});

afterAll(async () => {
  await server?.stop();
});

async function waitFor(cond: () => boolean, timeout: number): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('loses no JetStream message when the server restarts under a running app', async () => {
  const settled: SettledEvent[] = [];
  const { app } = await startJobsApp(
    { servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 },
    settled,
  );
  const nc = await connect({
    servers: server.url,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  try {
    const js = nc.jetstream();
    const seqs = new Set<number>();
    for (let i = 0; i < 30; i++)
      seqs.add((await js.publish(`jobs.r${i}`, JSON.stringify({ id: `r${i}`, sleep: 5 }))).seq);
    await server.kill('SIGKILL');
    await server.restart();
    for (let i = 30; i < 60; i++) {
      // The publisher's own retry loop: a PubAck is the proof the stream has it.
      for (;;) {
        try {
          seqs.add(
            (await js.publish(`jobs.r${i}`, JSON.stringify({ id: `r${i}` }), { msgId: `r${i}` }))
              .seq,
          );
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const acked = () => new Set(settled.filter((e) => e.outcome === 'ack').map((e) => e.streamSeq));
    await waitFor(() => [...seqs].every((s) => acked().has(s)), 20_000);
    expect(seqs.size).toBe(60);
  } finally {
    await nc.close();
    await app.close();
  }
}, 40_000);
