// Streams and consumers shared with the `nats` CLI (natscli, a Go client nobody here wrote).
// Our own info() would read back whatever our add() wrote, so a unit mistake (ms sent where the
// server wants ns) survives a round trip through our client alone; the CLI shows the server's
// JSON as it is, and its configs must read right to us.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsCli, natsCliBin, natsCliJson, serverAtLeast } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

let work: string;
beforeAll(() => {
  natsCliBin(); // builds the pinned CLI on a machine that lacks it (once; minutes)
  work = mkdtempSync(join(tmpdir(), 'natscli-js-'));
}, 15 * 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const NS = 1_000_000; // nanoseconds per millisecond

/** `nats consumer info --json`: the server's JSON, snake_case, durations in nanoseconds. */
interface CliConsumerInfo {
  stream_name: string;
  name: string;
  config: Record<string, unknown>;
}

describe('streams with the nats CLI', () => {
  it('the CLI reads the config of a stream we created, durations in nanoseconds', async () => {
    const { stream, subj } = fx.names();
    await fx.jsm.streams.add({
      name: stream,
      description: 'made by us',
      subjects: [`${subj}.>`],
      storage: 'memory',
      maxAge: 90_000,
      duplicateWindow: 5_000,
      maxMsgsPerSubject: 7,
      discard: 'new',
      ...(serverAtLeast('2.10.0') ? { metadata: { owner: 'us' } } : {}),
    });
    const info = await natsCliJson<{ config: Record<string, unknown> }>(fx.server, [
      'stream',
      'info',
      stream,
    ]);
    expect(info.config).toMatchObject({
      name: stream,
      description: 'made by us',
      subjects: [`${subj}.>`],
      storage: 'memory',
      max_age: 90_000 * NS,
      duplicate_window: 5_000 * NS,
      max_msgs_per_subject: 7,
      discard: 'new',
    });
    if (serverAtLeast('2.10.0')) expect(info.config['metadata']).toMatchObject({ owner: 'us' });
  });

  it('we read the config of a stream the CLI created, durations in milliseconds', async () => {
    const { stream, subj } = fx.names();
    await natsCli(fx.server, [
      'stream',
      'add',
      stream,
      '--subjects',
      `${subj}.>`,
      '--storage',
      'memory',
      '--max-age',
      '1m',
      '--dupe-window',
      '3s',
      '--max-msgs-per-subject',
      '9',
      '--description',
      'made by the CLI',
      '--defaults',
    ]);
    const info = await fx.jsm.streams.info(stream);
    expect(info.config).toMatchObject({
      name: stream,
      description: 'made by the CLI',
      subjects: [`${subj}.>`],
      storage: 'memory',
      maxAge: 60_000,
      duplicateWindow: 3_000,
      maxMsgsPerSubject: 9,
    });
  });
});

describe('consumers with the nats CLI', () => {
  it('the CLI reads the config of pull and push consumers we created', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, {
      durableName: 'pull1',
      description: 'pull by us',
      ackPolicy: 'explicit',
      ackWait: 2_500,
      backoff: [1_000, 3_000, 9_000],
      maxDeliver: 4,
      filterSubject: `${subj}.a`,
      deliverPolicy: 'last',
      maxAckPending: 33,
      maxWaiting: 16,
      maxBatch: 50,
      maxExpires: 20_000,
      inactiveThreshold: 120_000,
      headersOnly: true,
      ...(serverAtLeast('2.10.0') ? { metadata: { role: 'worker' } } : {}),
    });
    const pull = await natsCliJson<CliConsumerInfo>(fx.server, [
      'consumer',
      'info',
      stream,
      'pull1',
    ]);
    expect(pull).toMatchObject({ stream_name: stream, name: 'pull1' });
    expect(pull.config).toMatchObject({
      durable_name: 'pull1',
      description: 'pull by us',
      ack_policy: 'explicit',
      ack_wait: 1_000 * NS, // with a backoff, the server stores backoff[0] as the ack wait
      backoff: [1_000 * NS, 3_000 * NS, 9_000 * NS],
      max_deliver: 4,
      filter_subject: `${subj}.a`,
      deliver_policy: 'last',
      max_ack_pending: 33,
      max_waiting: 16,
      max_batch: 50,
      max_expires: 20_000 * NS,
      inactive_threshold: 120_000 * NS,
      headers_only: true,
    });
    if (serverAtLeast('2.10.0')) expect(pull.config['metadata']).toMatchObject({ role: 'worker' });

    await fx.jsm.consumers.add(stream, {
      durableName: 'push1',
      ackPolicy: 'explicit',
      deliverSubject: `deliver.${subj}`,
      deliverGroup: 'workers',
      idleHeartbeat: 4_000,
      flowControl: true,
      replayPolicy: 'instant',
    });
    const push = await natsCliJson<CliConsumerInfo>(fx.server, [
      'consumer',
      'info',
      stream,
      'push1',
    ]);
    expect(push.config).toMatchObject({
      durable_name: 'push1',
      deliver_subject: `deliver.${subj}`,
      deliver_group: 'workers',
      idle_heartbeat: 4_000 * NS,
      flow_control: true,
    });
  });

  it('we read the config of a consumer the CLI created, durations in milliseconds', async () => {
    const { stream, subj } = await fx.stream();
    const file = join(work, `${stream}-consumer.json`);
    writeFileSync(
      file,
      JSON.stringify({
        durable_name: 'fromcli',
        description: 'made by the CLI',
        ack_policy: 'explicit',
        ack_wait: 4_000 * NS,
        backoff: [2_000 * NS, 6_000 * NS],
        max_deliver: 5,
        deliver_policy: 'all',
        filter_subject: `${subj}.b`,
        max_ack_pending: 12,
        max_expires: 15_000 * NS,
        replay_policy: 'instant',
      }),
    );
    await natsCli(fx.server, ['consumer', 'add', stream, 'fromcli', '--config', file]);
    const info = await fx.jsm.consumers.info(stream, 'fromcli');
    expect(info.config).toMatchObject({
      durableName: 'fromcli',
      description: 'made by the CLI',
      ackPolicy: 'explicit',
      ackWait: 2_000, // backoff[0], as the server stores it
      backoff: [2_000, 6_000],
      maxDeliver: 5,
      deliverPolicy: 'all',
      filterSubject: `${subj}.b`,
      maxAckPending: 12,
      maxExpires: 15_000,
      replayPolicy: 'instant',
    });

    // And it works with our pull consumer: the CLI publishes, we fetch and ack.
    await natsCli(fx.server, ['pub', `${subj}.b`, 'hello from the CLI']);
    const consumer = await fx.js.consumers.get(stream, 'fromcli');
    const batch = await consumer.fetch(1, { timeout: 2_000 });
    const got: string[] = [];
    for (const m of batch) {
      got.push(m.string());
      await m.ackSync();
    }
    expect(got).toEqual(['hello from the CLI']);
    const after = await natsCliJson<{ num_ack_pending: number; ack_floor: { stream_seq: number } }>(
      fx.server,
      ['consumer', 'info', stream, 'fromcli'],
    );
    expect(after.num_ack_pending).toBe(0);
    expect(after.ack_floor.stream_seq).toBe(1);
  });
});
