// consume() accounts for each pull request on its own: a status ends only the pull it answers,
// so a refused re-pull does not make consume() forget a pull the server still holds (which would
// let more messages in than `maxMessages`).
import { jetstream, type JsMsg } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

async function waitingPulls(stream: string, n: number): Promise<void> {
  for (const end = Date.now() + 10_000; ; await sleep(50)) {
    if ((await fx.jsm.consumers.info(stream, 'c')).numWaiting === n) return;
    if (Date.now() > end) throw new Error(`the server never held ${n} waiting pull(s)`);
  }
}

describe('consume() pull accounting', () => {
  it('a refused re-pull leaves the pull still waiting counted: never more than maxMessages buffered', async () => {
    const { stream, subj } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'c', maxWaiting: 2 });
    const nc = await fx.connect({ onError: () => undefined });
    const c = await jetstream(nc).consumers.get(stream, 'c');
    const cm = c.consume({ maxMessages: 10, expires: 20_000, idleHeartbeat: 500 });
    const it: AsyncIterator<JsMsg, undefined> = cm[Symbol.asyncIterator]();
    try {
      // Pull A (10) gets 6 and keeps waiting for 4 more.
      await waitingPulls(stream, 1);
      for (let i = 0; i < 6; i++) await fx.js.publish(`${subj}.m`, `${i}`);
      await until(() => cm.buffered === 6, 5000);
      // Another reader takes the second waiting slot for 1.5 s.
      const other = jetstream(await fx.connect()).consumers.get(stream, 'c');
      const fetched = (await other).fetch(100, { timeout: 1500 });
      await waitingPulls(stream, 2);
      // Reading 5 asks for 5 more (pull B): refused, since the consumer holds 2 pulls already.
      for (let i = 0; i < 5; i++) expect((await it.next()).value?.string()).toBe(`${i}`);
      expect(await fetched).toEqual([]);
      // consume() gets back in once the other pull expired; A is still held for its 4.
      await sleep(2500);
      for (let i = 6; i < 30; i++) await fx.js.publish(`${subj}.m`, `${i}`);
      await until(() => cm.buffered >= 10, 5000);
      await sleep(300);
      expect(cm.buffered).toBe(10);
      // Everything arrives in order once read.
      const rest: string[] = [];
      while (rest.length < 25) rest.push((await it.next()).value!.string());
      expect(rest).toEqual(Array.from({ length: 25 }, (_, i) => `${i + 5}`));
    } finally {
      cm.stop();
    }
  }, 20_000);
});
