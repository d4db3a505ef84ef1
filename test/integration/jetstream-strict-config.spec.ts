// Every stream and consumer config member this client types, sent to servers that refuse JSON
// members they do not know (2.12+ by default, 2.11 with `jetstream { strict: true }`) and read
// back; and the typed refusal, before sending, of members an older server lacks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FeatureNotSupportedError,
  InvalidOptionError,
  StreamNotFoundError,
  connect,
  type NatsConnection,
} from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '../../lib/jetstream/index.js';
import {
  describeSince,
  itBefore,
  itSince,
  serverAtLeast,
  startServer,
  stopAllServers,
  testServerVersion,
} from '../support/index.js';

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let storeDir: string | undefined;

beforeAll(async () => {
  // 2.11 refuses unknown members only when told to; 2.12+ does by default.
  const strict11 = serverAtLeast('2.11.0') && !serverAtLeast('2.12.0');
  if (strict11) storeDir = mkdtempSync(join(tmpdir(), 'strict-js-'));
  const server = strict11
    ? await startServer({
        config: `jetstream { store_dir: ${JSON.stringify(storeDir)}, strict: true }`,
      })
    : await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc.close();
  await stopAllServers();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

/** What `toThrow`-style checks need: the rejection of `p`. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

const SECOND = 1000;

// 2.10 is not strict, but reading the config back proves it took every member.
describeSince('2.10.0', 'strict JSON: the whole config surface round-trips', () => {
  itSince('2.11.0', 'runs against a server that refuses unknown members', async () => {
    // A member no release knows must be refused by the server itself, proving it is strict.
    const raw = await nc.request(
      '$JS.API.STREAM.CREATE.STRICTPROBE',
      JSON.stringify({ name: 'STRICTPROBE', subjects: ['strictprobe'], no_such_member: 1 }),
    );
    expect(raw.json<{ error?: { code: number } }>().error?.code).toBe(400);
  });

  it('creates, reads back and updates a stream with every member set', async () => {
    const config: StreamConfig = {
      name: 'FULL',
      description: 'every member',
      subjects: ['full.>'],
      retention: 'limits',
      maxConsumers: 10,
      maxMsgs: 1000,
      maxBytes: 1024 * 1024,
      maxAge: 3600 * SECOND,
      maxMsgsPerSubject: 5,
      maxMsgSize: 4096,
      discard: 'new',
      discardNewPerSubject: true,
      storage: 'file',
      numReplicas: 1,
      duplicateWindow: 30 * SECOND,
      republish: { src: 'full.>', dest: 'repub.>', headersOnly: true },
      allowDirect: true,
      denyDelete: true,
      // The server refuses roll-ups without the purge permission.
      denyPurge: false,
      allowRollupHdrs: true,
      metadata: { owner: 'team-a', tier: 'gold' },
      compression: 's2',
      firstSeq: 100,
      subjectTransform: { src: 'full.>', dest: 'stored.>' },
      consumerLimits: { inactiveThreshold: 60 * SECOND, maxAckPending: 500 },
    };
    const created = await jsm.streams.add(config);
    const { metadata, ...rest } = config;
    expect(created.config).toMatchObject(rest);
    // 2.11+ adds `_nats.*` entries of its own next to the user's.
    expect(created.config.metadata).toMatchObject(metadata as Record<string, string>);
    expect(created.state.firstSeq).toBe(100);
    expect((await jsm.streams.info('FULL')).config).toMatchObject(rest);

    // An update sends the whole merged config back, server-given members included.
    const updated = await jsm.streams.update('FULL', { description: 'changed', maxMsgs: 2000 });
    expect(updated.config).toMatchObject({ ...rest, description: 'changed', maxMsgs: 2000 });
    await js.publish('full.a', 'x');
    expect((await jsm.streams.info('FULL')).state.lastSeq).toBe(100);
  });

  it('creates sourcing and mirroring streams with their 2.10 members', async () => {
    // A mirror's mirrorDirect follows its origin's allowDirect.
    await jsm.streams.add({
      name: 'ORIGIN',
      subjects: ['origin.>'],
      storage: 'memory',
      allowDirect: true,
    });
    await js.publish('origin.a', '1');
    const sourced = await jsm.streams.add({
      name: 'SOURCED',
      storage: 'memory',
      sources: [
        {
          name: 'ORIGIN',
          optStartSeq: 1,
          subjectTransforms: [{ src: 'origin.>', dest: 'copied.>' }],
        },
      ],
    });
    expect(sourced.config.sources?.[0]).toMatchObject({
      name: 'ORIGIN',
      optStartSeq: 1,
      subjectTransforms: [{ src: 'origin.>', dest: 'copied.>' }],
    });
    const mirror = await jsm.streams.add({
      name: 'MIRROR',
      storage: 'memory',
      mirror: { name: 'ORIGIN', filterSubject: 'origin.a' },
      mirrorDirect: true,
    });
    expect(mirror.config).toMatchObject({
      mirror: { name: 'ORIGIN', filterSubject: 'origin.a' },
      mirrorDirect: true,
    });
    await jsm.streams.update('SOURCED', { description: 'sourced' });
    await jsm.streams.update('MIRROR', { description: 'mirror' });
  });

  it('creates, reads back and updates pull and push consumers with every member set', async () => {
    await jsm.streams.add({ name: 'CONS', subjects: ['cons.>'], storage: 'memory' });
    const pull: ConsumerConfig = {
      durableName: 'pull',
      description: 'pull, every member',
      deliverPolicy: 'by_start_sequence',
      optStartSeq: 1,
      ackPolicy: 'explicit',
      ackWait: 10 * SECOND,
      maxDeliver: 5,
      backoff: [1 * SECOND, 2 * SECOND],
      filterSubject: 'cons.a',
      replayPolicy: 'instant',
      sampleFreq: '50%',
      maxWaiting: 16,
      maxAckPending: 100,
      headersOnly: true,
      maxBatch: 10,
      maxExpires: 30 * SECOND,
      maxBytes: 1024 * 1024,
      inactiveThreshold: 3600 * SECOND,
      numReplicas: 1,
      memStorage: true,
      metadata: { purpose: 'test' },
    };
    const p = await jsm.consumers.add('CONS', pull);
    // A backoff overrides ackWait with its first delay.
    const { metadata, ...pullRest } = { ...pull, ackWait: 1 * SECOND };
    expect(p.config).toMatchObject(pullRest);
    expect(p.config.metadata).toMatchObject(metadata as Record<string, string>);
    const pu = await jsm.consumers.update('CONS', 'pull', { description: 'changed' });
    expect(pu.config).toMatchObject({ ...pullRest, description: 'changed' });

    const push: ConsumerConfig = {
      durableName: 'push',
      deliverSubject: 'deliver.push',
      deliverGroup: 'workers',
      deliverPolicy: 'all',
      ackPolicy: 'explicit',
      filterSubjects: ['cons.a', 'cons.b'],
      rateLimitBps: 1_000_000,
      idleHeartbeat: 0,
      flowControl: false,
    };
    const q = await jsm.consumers.add('CONS', push);
    expect(q.config).toMatchObject({
      deliverSubject: 'deliver.push',
      deliverGroup: 'workers',
      filterSubjects: ['cons.a', 'cons.b'],
      rateLimitBps: 1_000_000,
    });
    await jsm.consumers.update('CONS', 'push', { description: 'changed' });

    const hb = await jsm.consumers.add('CONS', {
      durableName: 'hb',
      deliverSubject: 'deliver.hb',
      idleHeartbeat: 5 * SECOND,
      flowControl: true,
    });
    expect(hb.config).toMatchObject({ idleHeartbeat: 5 * SECOND, flowControl: true });
    await jsm.consumers.update('CONS', 'hb', { description: 'changed' });
  });

  it('sends purge, message get/delete, stream info and list requests the server accepts', async () => {
    await jsm.streams.add({ name: 'OPS', subjects: ['ops.>'], storage: 'memory' });
    for (let i = 0; i < 5; i++) await js.publish(`ops.${i % 2}`, `m${i}`);
    expect((await jsm.streams.getMessage('OPS', { seq: 2 })).string()).toBe('m1');
    expect((await jsm.streams.getMessage('OPS', { lastBySubject: 'ops.0' })).string()).toBe('m4');
    expect(await jsm.streams.deleteMessage('OPS', 1)).toBe(true);
    expect(await jsm.streams.deleteMessage('OPS', 2, false)).toBe(true);
    const info = await jsm.streams.info('OPS', { subjectsFilter: '>' });
    expect(info.state.subjects).toEqual({ 'ops.0': 2, 'ops.1': 1 });
    expect(await jsm.streams.purge('OPS', { filter: 'ops.0', keep: 1 })).toEqual({ purged: 1 });
    expect(await jsm.streams.purge('OPS', { seq: 5 })).toEqual({ purged: 1 });
    const names: string[] = [];
    for await (const n of jsm.streams.names('ops.>')) names.push(n);
    expect(names).toEqual(['OPS']);
    await jsm.streams.update('OPS', { allowDirect: true });
    expect((await jsm.streams.getMessage('OPS', { seq: 5 })).string()).toBe('m4');
    await jsm.consumers.add('OPS', { durableName: 'c' });
    const c = await js.consumers.get('OPS', 'c');
    expect((await c.fetch(5, { timeout: 500, maxBytes: 1024 })).length).toBe(1);
  });

  itSince(
    '2.11.0',
    'takes the pause and priority-group members, and pulls naming a group',
    async () => {
      await jsm.streams.add({ name: 'PRIO', subjects: ['prio.>'], storage: 'memory' });
      const pauseUntil = new Date(Date.now() + 3600 * SECOND);
      const cfg: ConsumerConfig = {
        durableName: 'pinned',
        pauseUntil,
        priorityGroups: ['g'],
        priorityPolicy: serverAtLeast('2.12.0') ? 'prioritized' : 'pinned_client',
        priorityTimeout: 5 * SECOND,
      };
      if (cfg.priorityPolicy === 'prioritized') delete cfg.priorityTimeout;
      const info = await jsm.consumers.add('PRIO', cfg);
      // The server writes RFC 3339 without trailing zeros (".84Z" for ".840Z"): compare times.
      const { pauseUntil: sentPause, ...rest } = cfg;
      expect(info.config).toMatchObject(rest);
      expect(new Date(String(info.config.pauseUntil)).getTime()).toBe(
        new Date(sentPause as Date).getTime(),
      );
      expect(info.paused).toBe(true);
      await jsm.consumers.update('PRIO', 'pinned', { description: 'changed' });
      await jsm.consumers.resume('PRIO', 'pinned');
      await js.publish('prio.a', 'x');
      const c = await js.consumers.get('PRIO', 'pinned');
      const opts = cfg.priorityPolicy === 'prioritized' ? { priority: 3 } : {};
      expect(await c.fetch(1, { group: 'g', timeout: 1000, ...opts })).toHaveLength(1);
    },
  );
});

describe('config members the connected server lacks', () => {
  it('refuses a member no release knows, before sending', async () => {
    const bad = { name: 'NOPE', subjects: ['nope'], notAMember: true } as StreamConfig;
    const err = await rejection(jsm.streams.add(bad));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toContain('"not_a_member"');
    await expect(jsm.streams.info('NOPE')).rejects.toBeInstanceOf(StreamNotFoundError);
    await jsm.streams.add({ name: 'NOPE2', subjects: ['nope2'] });
    const badConsumer = { durableName: 'x', bogus: 1 } as ConsumerConfig;
    await expect(jsm.consumers.add('NOPE2', badConsumer)).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });

  const cases: [string, string, StreamConfig][] = [
    ['metadata', '2.10.0', { name: 'T1', subjects: ['t1'], metadata: { a: 'b' } }],
    ['compression', '2.10.0', { name: 'T2', subjects: ['t2'], compression: 's2' }],
    ['first_seq', '2.10.0', { name: 'T3', subjects: ['t3'], firstSeq: 10 }],
    [
      'subject_transform',
      '2.10.0',
      { name: 'T4', subjects: ['t4.>'], subjectTransform: { src: 't4.>', dest: 'x.>' } },
    ],
    ['consumer_limits', '2.10.0', { name: 'T5', subjects: ['t5'], consumerLimits: {} }],
  ];
  for (const [member, since, config] of cases) {
    itBefore(since, `refuses stream ${member} on a server older than ${since}`, async () => {
      const err = await rejection(jsm.streams.add(config));
      expect(err).toBeInstanceOf(FeatureNotSupportedError);
      expect(err).toMatchObject({
        code: 'FEATURE_NOT_SUPPORTED',
        feature: `stream config "${member}"`,
        minVersion: since,
        serverVersion: testServerVersion(),
      });
      await expect(jsm.streams.info(config.name)).rejects.toBeInstanceOf(StreamNotFoundError);
    });
  }

  itBefore('2.10.0', 'refuses 2.10 members of a source and of an update', async () => {
    await jsm.streams.add({ name: 'OLD', subjects: ['old'] });
    const source = { name: 'OLD', subjectTransforms: [{ src: 'old', dest: 'new' }] };
    await expect(jsm.streams.add({ name: 'OLD2', sources: [source] })).rejects.toMatchObject({
      feature: 'stream config "sources[0].subject_transforms"',
    });
    await expect(jsm.streams.update('OLD', { metadata: { a: 'b' } })).rejects.toBeInstanceOf(
      FeatureNotSupportedError,
    );
    expect((await jsm.streams.info('OLD')).config.metadata).toBeUndefined();
  });

  itBefore('2.10.0', 'refuses consumer metadata and filterSubjects before 2.10', async () => {
    await jsm.streams.add({ name: 'OLDC', subjects: ['oldc.>'] });
    await expect(
      jsm.consumers.add('OLDC', { durableName: 'm', metadata: { a: 'b' } }),
    ).rejects.toMatchObject({ code: 'FEATURE_NOT_SUPPORTED', minVersion: '2.10.0' });
    await expect(
      jsm.consumers.add('OLDC', { durableName: 'f', filterSubjects: ['oldc.a', 'oldc.b'] }),
    ).rejects.toMatchObject({ feature: 'consumer config "filter_subjects"' });
    await jsm.consumers.add('OLDC', { durableName: 'u' });
    await expect(
      jsm.consumers.update('OLDC', 'u', { metadata: { a: 'b' } }),
    ).rejects.toBeInstanceOf(FeatureNotSupportedError);
  });

  itBefore('2.11.0', 'refuses 2.11 members (message TTLs) before 2.11', async () => {
    const config = { name: 'TTL', subjects: ['ttl'], allowMsgTtl: true } as StreamConfig;
    await expect(jsm.streams.add(config)).rejects.toMatchObject({
      code: 'FEATURE_NOT_SUPPORTED',
      feature: 'stream config "allow_msg_ttl"',
      minVersion: '2.11.0',
    });
  });
});
