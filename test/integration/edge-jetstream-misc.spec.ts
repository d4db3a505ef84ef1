// Edge cases: assorted JetStream edge cases against a real nats-server.
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';

const fx = new JsFixture();
fx.install();

describe('misc', () => {
  it('fetch() settles promptly when the connection closes mid-pull', async () => {
    const nc = await fx.connect();
    const js = jetstream(nc);
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'c' });
    const c = await js.consumers.get(stream, 'c');
    const started = Date.now();
    const p = c.fetch(10, { timeout: 5000 }).then(
      (v) => `resolved ${v.length}`,
      (e: unknown) => `rejected ${(e as Error).constructor.name}`,
    );
    await sleep(100);
    await nc.close();
    const outcome = await p;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(outcome).toMatch(/resolved 0|rejected ConnectionClosedError/);
  });

  it('getMessage() keeps working after another client re-creates the stream without direct get', async () => {
    const { stream, subj } = await fx.stream({ allowDirect: true });
    await fx.js.publish(`${subj}.a`, 'one');
    expect((await fx.jsm.streams.getMessage(stream, { seq: 1 })).string()).toBe('one');
    const other = await jetstreamManager(await fx.connect());
    await other.streams.delete(stream);
    await other.streams.add({ name: stream, subjects: [`${subj}.>`], storage: 'memory' });
    await fx.js.publish(`${subj}.a`, 'two');
    let outcome: string;
    try {
      outcome = (await fx.jsm.streams.getMessage(stream, { seq: 1 })).string();
    } catch (e) {
      outcome = `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
    expect(outcome).toBe('two');
  });

  it('consume({ maxMessages: 1 }) delivers everything, one at a time', async () => {
    const { stream, subj } = await fx.stream();
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    await fx.jsm.consumers.add(stream, { durableName: 'c' });
    const c = await fx.js.consumers.get(stream, 'c');
    const cm = c.consume({ maxMessages: 1, expires: 2000 });
    const got: string[] = [];
    for await (const m of cm) {
      got.push(m.string());
      m.ack();
      if (got.length === 5) break;
    }
    cm.stop();
    expect(got).toEqual(['0', '1', '2', '3', '4']);
  });

  it('next() on an empty consumer resolves null at its timeout, not before, not much after', async () => {
    const { stream } = await fx.stream();
    await fx.jsm.consumers.add(stream, { durableName: 'c' });
    const c = await fx.js.consumers.get(stream, 'c');
    const started = Date.now();
    expect(await c.next({ timeout: 400 })).toBeNull();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(1000);
  });
});
