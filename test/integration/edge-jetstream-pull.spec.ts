// Edge cases of pull consumers (fetch, next, consume) against a real nats-server.
import {
  CallbackError,
  ConsumerNotFoundError,
  JetStreamApiError,
  type NatsError,
} from '../../lib/core/index.js';
import { jetstream, type JsMsg, type PullConsumer } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { rejection } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown): void => void unhandled.push(r);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

async function setup(
  count: number,
  consumer: Record<string, unknown> = {},
): Promise<{ c: PullConsumer; stream: string; subj: string }> {
  const { stream, subj } = await fx.stream();
  await Promise.all(Array.from({ length: count }, (_, i) => fx.js.publish(`${subj}.m`, `${i}`)));
  await fx.jsm.consumers.add(stream, { durableName: 'c', ackWait: 30_000, ...consumer });
  return { c: await fx.js.consumers.get(stream, 'c'), stream, subj };
}

describe('fetch()', () => {
  it('fetch(batch > consumer maxBatch) rejects with the refusal instead of resolving []', async () => {
    const { c } = await setup(10, { maxBatch: 5 });
    // An empty batch would look exactly like "no messages" (409 Exceeded MaxRequestBatch).
    const err = await rejection(c.fetch(10, { timeout: 1000 }));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect(err).toMatchObject({ status: 409 });
    expect((err as Error).message).toMatch(/MaxRequestBatch of 5/);
    expect(await c.fetch(5, { timeout: 1000 })).toHaveLength(5);
  });

  it('fetch(batch > maxAckPending) returns what the server may deliver', async () => {
    const { c } = await setup(10, { maxAckPending: 3 });
    const msgs = await c.fetch(10, { timeout: 500 });
    expect(msgs.length).toBe(3);
    msgs.forEach((m) => m.ack());
  });

  it('fetch() on a consumer deleted mid-fetch rejects with ConsumerNotFoundError promptly', async () => {
    const { c } = await setup(0);
    const started = Date.now();
    const p = rejection(c.fetch(10, { timeout: 4000 }));
    await sleep(200);
    await c.delete();
    const err = await p;
    expect(Date.now() - started).toBeLessThan(2000);
    // The doc comment of PullConsumer.fetch: "rejects with ConsumerNotFoundError when the
    // consumer no longer exists".
    expect(err).toBeInstanceOf(ConsumerNotFoundError);
  });
});

describe('consume()', () => {
  it('breaking out of a for-await over consume() stops pulling', async () => {
    const { c, stream, subj } = await setup(4);
    const cm = c.consume({ maxMessages: 10, expires: 2000 });
    for await (const m of cm) {
      m.ack();
      break;
    }
    await sleep(300);
    // After the loop is left nobody reads any more; new messages must not be pulled into a
    // buffer nobody drains.
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.m`, `late${i}`);
    await sleep(300);
    const info = await fx.jsm.consumers.info(stream, 'c');
    const closed = await Promise.race([
      cm.closed.then(() => 'closed'),
      sleep(50).then(() => 'open'),
    ]);
    const buffered = cm.buffered;
    cm.stop();
    expect({ closed, buffered, numWaiting: info.numWaiting, numPending: info.numPending }).toEqual({
      closed: 'closed',
      buffered: 0,
      numWaiting: 0,
      numPending: 5,
    });
  });

  it('a consume() with maxMessages > consumer maxBatch reports the refusal once and goes on with smaller pulls', async () => {
    const errors: NatsError[] = [];
    const nc = await fx.connect({ onError: (e) => void errors.push(e) });
    const { stream } = await setup(10, { maxBatch: 5 });
    const c = await jetstream(nc).consumers.get(stream, 'c');
    const got: string[] = [];
    const cm = c.consume({
      maxMessages: 20,
      expires: 2000,
      callback: (m) => {
        got.push(m.string());
        m.ack();
      },
    });
    // Spec §11: 409 Exceeded MaxRequestBatch is a warning: "Report to the user, keep going".
    for (let i = 0; i < 100 && got.length < 10; i++) await sleep(20);
    cm.stop();
    expect(got).toHaveLength(10);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/MaxRequestBatch of 5/)]);
  });

  it('a throwing callback is reported as CallbackError and consuming goes on', async () => {
    const errors: NatsError[] = [];
    const nc = await fx.connect({ onError: (e) => void errors.push(e) });
    const { stream } = await setup(6);
    const c = await jetstream(nc).consumers.get(stream, 'c');
    const seen: string[] = [];
    const cm = c.consume({
      maxMessages: 2,
      expires: 2000,
      callback: (m) => {
        seen.push(m.string());
        m.ack();
        if (Number(m.string()) % 2 === 0) throw new Error('sync boom');
        return Promise.reject(new Error('async boom'));
      },
    });
    await sleep(800);
    cm.stop();
    expect(seen).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(errors.filter((e) => e instanceof CallbackError).length).toBe(6);
    expect(unhandled).toEqual([]);
  });

  it('two consume() on the same durable share the messages, each exactly once', async () => {
    const { c, stream, subj } = await setup(0);
    const c2 = await fx.js.consumers.get(stream, 'c');
    const a: string[] = [];
    const b: string[] = [];
    const cm1 = c.consume({
      maxMessages: 5,
      expires: 2000,
      callback: (m) => (a.push(m.string()), m.ack()),
    });
    const cm2 = c2.consume({
      maxMessages: 5,
      expires: 2000,
      callback: (m) => (b.push(m.string()), m.ack()),
    });
    await sleep(100);
    await Promise.all(Array.from({ length: 40 }, (_, i) => fx.js.publish(`${subj}.m`, `${i}`)));
    await sleep(1000);
    cm1.stop();
    cm2.stop();
    const all = [...a, ...b].map(Number).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('stop() with buffered messages: they come back after ackWait', async () => {
    const { c } = await setup(5, { ackWait: 1000 });
    const cm = c.consume({ maxMessages: 10, expires: 2000 });
    const it = cm[Symbol.asyncIterator]();
    const first = await it.next();
    (first.value as JsMsg).ack();
    await sleep(100);
    expect(cm.buffered).toBe(4);
    cm.stop();
    expect((await it.next()).done).toBe(true);
    await sleep(1300);
    const again = await c.fetch(10, { timeout: 500 });
    expect(again.map((m) => m.string())).toEqual(['1', '2', '3', '4']);
    expect(again.every((m) => m.metadata.numDelivered === 2)).toBe(true);
  });

  it('a consume() ended by deleting the consumer ends with ConsumerNotFoundError (as documented)', async () => {
    const { c } = await setup(0);
    const cm = c.consume({ expires: 5000 });
    await sleep(100);
    await c.delete();
    const err = await cm.closed;
    // PullConsumer.consume() doc: "Ends with ConsumerNotFoundError when the consumer
    // disappears (deleted, or lost in a restart)".
    expect(err).toBeInstanceOf(ConsumerNotFoundError);
  });
});
