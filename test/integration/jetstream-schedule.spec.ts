// Message schedules (ADR-51): `at` on nats-server 2.12+, `every` / cron / source / time zone on
// 2.14+. The stream publishes the schedule's body to its target; an `at` schedule fires once.
import {
  FeatureNotSupportedError,
  InvalidOptionError,
  JetStreamApiError,
  JsApiCode,
} from '../../lib/core/index.js';
import type { JsMsg } from '../../lib/jetstream/index.js';
import { describeSince, itBefore, serverAtLeast } from '../support/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

const scheduleStream = () => fx.stream({ allowMsgSchedules: true });

/** Every message stored on `subject` so far (stream time order). */
async function stored(stream: string, subject: string): Promise<JsMsg[]> {
  const c = await fx.js.pullSubscribe(subject, { stream });
  const out: JsMsg[] = [];
  for (;;) {
    const batch = await c.fetch(10, { timeout: 500 });
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

describeSince('2.12.0', 'js.schedule() at', () => {
  it('publishes the body once, no earlier than its time', async () => {
    const { stream, subj } = await scheduleStream();
    const at = new Date(Date.now() + 1500);
    const ack = await fx.js.schedule(`${subj}.sched.1`, {
      at,
      target: `${subj}.out`,
      data: 'later',
      headers: { k: 'v' },
    });
    expect(ack.stream).toBe(stream);
    expect(await stored(stream, `${subj}.out`)).toEqual([]);
    await sleep(3500);
    const got = await stored(stream, `${subj}.out`);
    expect(got.map((m) => m.string())).toEqual(['later']);
    expect(got[0].metadata.timestamp.getTime()).toBeGreaterThanOrEqual(at.getTime() - 1);
    expect(got[0].headers?.get('k')).toBe('v');
    expect(got[0].headers?.get('Nats-Scheduler')).toBe(`${subj}.sched.1`);
    expect(await fx.js.cancelSchedule(`${subj}.sched.1`)).toBe(false);
  }, 15_000);

  it('cancelSchedule() removes a schedule before it fires', async () => {
    const { stream, subj } = await scheduleStream();
    await fx.js.schedule(`${subj}.sched.2`, {
      at: new Date(Date.now() + 1500),
      target: `${subj}.out`,
    });
    expect(await fx.js.cancelSchedule(`${subj}.sched.2`, { stream })).toBe(true);
    await sleep(2500);
    expect(await stored(stream, `${subj}.out`)).toEqual([]);
  }, 15_000);

  it('refuses bad options before sending, and the server names a stream without schedules', async () => {
    const { subj } = await scheduleStream();
    const t = new Date(Date.now() + 60_000);
    await expect(fx.js.schedule(`${subj}.s`, { target: `${subj}.o` })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(fx.js.schedule(`${subj}.s`, { at: t, target: `${subj}.s` })).rejects.toThrow(
      /own subject/,
    );
    await expect(
      fx.js.schedule(`${subj}.s`, { at: t, target: `${subj}.o`, ttl: 1500 }),
    ).rejects.toThrow(/whole seconds/);
    await expect(
      fx.js.schedule(`${subj}.s`, { at: t, target: `${subj}.o`, timeZone: 'UTC' }),
    ).rejects.toThrow(/cron/);
    const plain = await fx.stream();
    const err = await fx.js
      .schedule(`${plain.subj}.s`, { at: t, target: `${plain.subj}.o` })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).apiCode).toBe(JsApiCode.SCHEDULES_DISABLED);
  });
});

describeSince('2.14.0', 'js.schedule() every / cron', () => {
  it('publishes on an interval until cancelled', async () => {
    const { stream, subj } = await scheduleStream();
    await fx.js.schedule(`${subj}.tick`, { every: 1000, target: `${subj}.out`, data: 't' });
    await sleep(2600);
    expect(await fx.js.cancelSchedule(`${subj}.tick`)).toBe(true);
    const n = (await stored(stream, `${subj}.out`)).length;
    expect(n).toBeGreaterThanOrEqual(2);
    await sleep(1500);
    expect((await stored(stream, `${subj}.out`)).length).toBe(n);
  }, 15_000);

  it('accepts a cron pattern with a time zone', async () => {
    const { subj } = await scheduleStream();
    const ack = await fx.js.schedule(`${subj}.cron`, {
      cron: '0 0 5 * * *',
      timeZone: 'Europe/Paris',
      target: `${subj}.out`,
    });
    expect(ack.seq).toBe(1);
    const err = await fx.js
      .schedule(`${subj}.cron`, {
        cron: '0 0 5 * * *',
        timeZone: 'Not/AZone',
        target: `${subj}.out`,
      })
      .catch((e: unknown) => e);
    expect((err as JetStreamApiError).apiCode).toBe(JsApiCode.SCHEDULE_TIME_ZONE_INVALID);
  });
});

// Only a 2.12.x server has schedules without these (itBefore('2.14.0') would also run on 2.9).
const on212 = serverAtLeast('2.12.0') && !serverAtLeast('2.14.0');
(on212 ? it : it.skip)('every, cron, source and timeZone are refused below 2.14', async () => {
  const { subj } = await scheduleStream();
  const target = `${subj}.out`;
  const at = new Date(Date.now() + 60_000);
  for (const opts of [
    { every: 1000, target },
    { cron: '@hourly', target },
    { cron: '@hourly', timeZone: 'UTC', target },
    { at, target, source: `${subj}.src` },
  ]) {
    const err = await fx.js.schedule(`${subj}.s`, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeatureNotSupportedError);
    expect((err as FeatureNotSupportedError).minVersion).toBe('2.14.0');
  }
});

itBefore('2.12.0', 'schedules need nats-server 2.12', async () => {
  const { subj } = await fx.stream();
  const err = await fx.js
    .schedule(`${subj}.s`, { at: new Date(), target: `${subj}.o` })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FeatureNotSupportedError);
  expect((err as FeatureNotSupportedError).minVersion).toBe('2.12.0');
  const every = await fx.js
    .schedule(`${subj}.s`, { every: 1000, target: `${subj}.o` })
    .catch((e: unknown) => e);
  expect((every as FeatureNotSupportedError).minVersion).toBe('2.14.0');
});
