// Stream config members of nats-server 2.10-2.14 read back through info, refused before sending
// on a server too old for them; per-message TTLs (ADR-43) and the server's subject delete markers.
import {
  ErrorCode,
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
  StreamNotFoundError,
} from '../../lib/core/index.js';
import { MessageTtlDisabledError, type StreamConfig } from '../../lib/jetstream/index.js';
import {
  describeSince,
  itBefore,
  itSince,
  serverAtLeast,
  testServerVersion,
} from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

/** The stream's message count. */
const messages = async (stream: string): Promise<number> =>
  (await fx.jsm.streams.info(stream)).state.messages;

// [wire member, release that added it, config (name filled in), what info reads back]
type Case = [string, string, Partial<StreamConfig>, Partial<StreamConfig>];
const CASES: Case[] = [
  ['allow_msg_ttl', '2.11.0', { allowMsgTtl: true }, { allowMsgTtl: true }],
  [
    'subject_delete_marker_ttl',
    '2.11.0',
    { subjectDeleteMarkerTtl: 2500 },
    // The server turns on what markers need.
    { subjectDeleteMarkerTtl: 2500, allowMsgTtl: true, allowRollupHdrs: true },
  ],
  ['allow_atomic', '2.12.0', { allowAtomic: true }, { allowAtomic: true }],
  ['allow_msg_counter', '2.12.0', { allowMsgCounter: true }, { allowMsgCounter: true }],
  ['allow_msg_schedules', '2.12.0', { allowMsgSchedules: true }, { allowMsgSchedules: true }],
  // The server allows async persistence on file storage only.
  [
    'persist_mode',
    '2.12.0',
    { persistMode: 'async', storage: 'file' },
    { persistMode: 'async', storage: 'file' },
  ],
  ['allow_batched', '2.14.0', { allowBatched: true }, { allowBatched: true }],
];

let n = 0;
const named = (c: Partial<StreamConfig>): StreamConfig => {
  const name = `T${++n}`;
  return { name, subjects: [`t${n}.>`], storage: 'memory', ...c };
};

describe('stream config members of 2.10-2.14', () => {
  for (const [member, since, config, expected] of CASES) {
    itSince(since, `reads ${member} back through info`, async () => {
      const cfg = named(config);
      const created = await fx.jsm.streams.add(cfg);
      expect(created.config).toMatchObject(expected);
      expect((await fx.jsm.streams.info(cfg.name)).config).toMatchObject(expected);
    });

    itBefore(since, `refuses ${member} before ${since}, sending nothing`, async () => {
      const cfg = named(config);
      const err = await rejection(fx.jsm.streams.add(cfg));
      expect(err).toBeInstanceOf(FeatureNotSupportedError);
      expect(err).toMatchObject({
        code: ErrorCode.FEATURE_NOT_SUPPORTED,
        feature: `stream config "${member}"`,
        minVersion: since,
        serverVersion: testServerVersion(),
      });
      await expect(fx.jsm.streams.info(cfg.name)).rejects.toBeInstanceOf(StreamNotFoundError);
    });

    itBefore(since, `refuses ${member} in an update before ${since}`, async () => {
      const cfg = named({});
      await fx.jsm.streams.add(cfg);
      await expect(fx.jsm.streams.update(cfg.name, config)).rejects.toMatchObject({
        code: ErrorCode.FEATURE_NOT_SUPPORTED,
        minVersion: since,
      });
    });
  }

  itSince('2.10.0', 'reads the 2.10 members back through info', async () => {
    const cfg = named({ metadata: { team: 'a' }, compression: 's2', firstSeq: 42 });
    cfg.subjectTransform = { src: `t${n}.>`, dest: `moved.t${n}.>` };
    const info = await fx.jsm.streams.add(cfg);
    expect(info.config).toMatchObject({
      compression: 's2',
      firstSeq: 42,
      subjectTransform: { src: `t${n}.>`, dest: `moved.t${n}.>` },
    });
    expect(info.config.metadata).toMatchObject({ team: 'a' });
    expect(info.state.firstSeq).toBe(42);
    expect(typeof info.ts).toBe('string');
  });

  itSince('2.14.0', 'sources through a durable consumer (source consumer, 2.14)', async () => {
    const origin = named({});
    await fx.jsm.streams.add(origin);
    const consumer = { name: 'feed', deliverSubject: `deliver.${origin.name}` };
    const copy = named({ subjects: undefined, sources: [{ name: origin.name, consumer }] });
    const info = await fx.jsm.streams.add(copy);
    expect(info.config.sources?.[0]).toMatchObject({ name: origin.name, consumer });
    expect((await fx.jsm.streams.info(copy.name)).config.sources?.[0].consumer).toEqual(consumer);
  });

  itBefore('2.14.0', 'refuses a source consumer before 2.14', async () => {
    const consumer = { name: 'feed', deliverSubject: 'deliver.x' };
    const cfg = named({ sources: [{ name: 'X', consumer }] });
    await expect(fx.jsm.streams.add(cfg)).rejects.toMatchObject({
      code: ErrorCode.FEATURE_NOT_SUPPORTED,
      feature: 'stream config "sources[0].consumer"',
      minVersion: '2.14.0',
    });
  });

  it('refuses a member of a source consumer that no release has', async () => {
    const consumer = { name: 'feed', deliverSubject: 'd', bogus: 1 };
    const cfg = named({ sources: [{ name: 'X', consumer }] });
    const err = await rejection(fx.jsm.streams.add(cfg));
    // Below 2.14 the consumer itself is refused first.
    expect(err).toBeInstanceOf(
      serverAtLeast('2.14.0') ? InvalidOptionError : FeatureNotSupportedError,
    );
  });
});

describeSince('2.11.0', 'per-message TTL', () => {
  it('expires a message after its TTL, with the Nats-TTL header stored', async () => {
    const { stream, subj } = await fx.stream({ allowMsgTtl: true });
    const ack = await fx.js.publish(`${subj}.a`, 'short', { ttl: 1000 });
    await fx.js.publish(`${subj}.b`, 'kept');
    const stored = await fx.jsm.streams.getMessage(stream, { seq: ack.seq });
    expect(stored.headers?.get('Nats-TTL')).toBe('1s');
    const start = Date.now();
    await waitFor(async () => (await messages(stream)) === 1, 6000);
    // Whole seconds on the server's clock: not before most of the second has passed.
    expect(Date.now() - start).toBeGreaterThanOrEqual(500);
    await expect(fx.jsm.streams.getMessage(stream, { seq: ack.seq })).rejects.toBeInstanceOf(
      JetStreamApiError,
    );
  }, 10_000);

  it("keeps a message with ttl 'never' past the stream's maxAge", async () => {
    const { stream, subj } = await fx.stream({ allowMsgTtl: true, maxAge: 1000 });
    const forever = await fx.js.publish(`${subj}.a`, 'forever', { ttl: 'never' });
    await fx.js.publish(`${subj}.b`, 'aging');
    await waitFor(async () => (await messages(stream)) === 1, 6000);
    expect((await fx.jsm.streams.getMessage(stream, { seq: forever.seq })).string()).toBe(
      'forever',
    );
  }, 10_000);

  it('refuses a TTL on a stream without allowMsgTtl with MessageTtlDisabledError', async () => {
    const { stream, subj } = await fx.stream();
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { ttl: 5000 }));
    expect(err).toBeInstanceOf(MessageTtlDisabledError);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect(err).toMatchObject({
      code: ErrorCode.MESSAGE_TTL_DISABLED,
      apiCode: JsApiCode.MESSAGE_TTL_DISABLED,
    });
    expect(await messages(stream)).toBe(0);
  });

  it('refuses a TTL that is not whole seconds of at least 1 s, sending nothing', async () => {
    const { stream, subj } = await fx.stream({ allowMsgTtl: true });
    const seen = await fx.spy(`${subj}.>`);
    for (const ttl of [0, 500, 1500, -1000, Number.NaN, 2 ** 60]) {
      const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { ttl }));
      expect(err).toBeInstanceOf(InvalidOptionError);
    }
    await fx.nc.flush();
    expect(seen()).toBe(0);
    expect(await messages(stream)).toBe(0);
  });

  it('leaves a delete marker when the last message of a subject ages out', async () => {
    const { stream, subj } = await fx.stream({ subjectDeleteMarkerTtl: 1000 });
    await fx.js.publish(`${subj}.gone`, 'x', { ttl: 1000 });
    const marker = await waitFor(async () => {
      const last = await fx.jsm.streams.getMessage(stream, { lastBySubject: `${subj}.gone` });
      return last.seq > 1 ? last : undefined;
    }, 6000);
    expect(marker.headers?.get('Nats-Marker-Reason')).toBe('MaxAge');
    expect(marker.headers?.get('Nats-Rollup')).toBe('sub');
    expect(marker.headers?.get('Nats-TTL')).toBe('1s');
    expect(marker.data.length).toBe(0);
  }, 10_000);

  it("leaves a delete marker when the stream's maxAge removes a subject's last message", async () => {
    const { stream, subj } = await fx.stream({ maxAge: 1000, subjectDeleteMarkerTtl: 5000 });
    await fx.js.publish(`${subj}.old`, 'x');
    const marker = await waitFor(async () => {
      const last = await fx.jsm.streams.getMessage(stream, { lastBySubject: `${subj}.old` });
      return last.seq > 1 ? last : undefined;
    }, 6000);
    expect(marker.headers?.get('Nats-Marker-Reason')).toBe('MaxAge');
    expect(marker.headers?.get('Nats-TTL')).toBe('5s');
  }, 10_000);
});

itBefore('2.11.0', 'refuses a publish ttl before 2.11, sending nothing', async () => {
  const { stream, subj } = await fx.stream();
  const seen = await fx.spy(`${subj}.>`);
  for (const ttl of [5000, 'never'] as const) {
    const err = await rejection(fx.js.publish(`${subj}.a`, 'x', { ttl }));
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect(err).toMatchObject({ minVersion: '2.11.0', serverVersion: testServerVersion() });
  }
  await fx.nc.flush();
  expect(seen()).toBe(0);
  expect(await messages(stream)).toBe(0);
});

/** Polls `probe` every 100 ms until it returns something truthy (a missing message counts as no). */
async function waitFor<T>(probe: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
