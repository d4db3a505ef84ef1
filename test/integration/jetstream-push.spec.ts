// Push consumers through js.subscribe() against a real JetStream server.
import { InvalidOptionError, type Msg, NatsError } from '../../lib/core/index.js';
import type { JsMsg } from '../../lib/jetstream/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end;) await sleep(10);
}

describe('js.subscribe()', () => {
  it('delivers to a callback and acks automatically', async () => {
    const { subj } = await fx.stream();
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    const got: string[] = [];
    const sub = await fx.js.subscribe(`${subj}.a`, { callback: (m) => void got.push(m.string()) });
    await until(() => got.length === 5);
    expect(got).toEqual(['0', '1', '2', '3', '4']);
    await sleep(50);
    expect((await sub.consumerInfo()).numAckPending).toBe(0);
    await sub.destroy();
  });

  it('iterates with manual acks and binds to an existing durable', async () => {
    const { subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'one');
    await fx.js.publish(`${subj}.a`, 'two');
    const sub = await fx.js.subscribe(`${subj}.a`, { durable: 'pd', manualAck: true });
    const got: JsMsg[] = [];
    for await (const m of sub) {
      got.push(m);
      if (got.length === 2) break;
    }
    expect(got.map((m) => m.metadata.consumer)).toEqual(['pd', 'pd']);
    got[0].ack();
    await sleep(50);
    expect((await sub.consumerInfo()).numAckPending).toBe(1);
    sub.unsubscribe();
    await sleep(50);
    const again = await fx.js.subscribe(`${subj}.a`, { durable: 'pd', manualAck: true });
    expect(again.consumer).toBe('pd');
    await again.destroy();
  });

  it('honours deliverPolicy', async () => {
    const { subj } = await fx.stream();
    await fx.js.publish(`${subj}.a`, 'old');
    await fx.js.publish(`${subj}.a`, 'last');
    const got: string[] = [];
    const sub = await fx.js.subscribe(`${subj}.a`, {
      deliverPolicy: 'last',
      callback: (m) => void got.push(m.string()),
    });
    await until(() => got.length > 0);
    await sleep(50);
    expect(got).toEqual(['last']);
    await sub.destroy();
  });

  it('answers flow control and swallows heartbeats', async () => {
    const { subj } = await fx.stream();
    const payload = new Uint8Array(64 * 1024);
    await Promise.all(Array.from({ length: 300 }, () => fx.js.publish(`${subj}.big`, payload)));
    const fcAnswers: Msg[] = [];
    const spy = await fx.connect();
    spy.subscribe('$JS.FC.>', { callback: (m) => void fcAnswers.push(m) });
    await spy.flush();
    const got: JsMsg[] = [];
    const sub = await fx.js.subscribe(`${subj}.big`, {
      flowControl: true,
      idleHeartbeat: 200,
      callback: (m) => void got.push(m),
    });
    const inner = sub.sub;
    await until(() => got.length === 300, 8000);
    await sleep(500);
    expect(got.length).toBe(300);
    expect(got.every((m) => m.data.length === payload.length)).toBe(true);
    // Flow-control requests and heartbeats reached the subscription but not the callback.
    expect(inner.delivered).toBeGreaterThan(300);
    expect(fcAnswers.length).toBeGreaterThan(0);
    expect(fcAnswers.every((m) => m.data.length === 0)).toBe(true);
    expect(sub.missedHeartbeats).toBe(0);
    await sub.destroy();
  });

  it('shares messages in a queue group', async () => {
    const { subj } = await fx.stream();
    const a: string[] = [];
    const b: string[] = [];
    const s1 = await fx.js.subscribe(`${subj}.q`, {
      durable: 'qd',
      queue: 'workers',
      callback: (m) => void a.push(m.string()),
    });
    const s2 = await fx.js.subscribe(`${subj}.q`, {
      durable: 'qd',
      queue: 'workers',
      callback: (m) => void b.push(m.string()),
    });
    for (let i = 0; i < 40; i++) await fx.js.publish(`${subj}.q`, `${i}`);
    await until(() => a.length + b.length === 40);
    expect(a.length + b.length).toBe(40);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    s2.unsubscribe();
    await s1.destroy();
  });

  it('a second subscribe() to a push durable already bound is refused (no double delivery)', async () => {
    const { subj } = await fx.stream();
    const a: string[] = [];
    const b: string[] = [];
    const s1 = await fx.js.subscribe(`${subj}.>`, {
      durable: 'd',
      callback: (m) => void a.push(m.string()),
    });
    let s2err: unknown;
    let s2;
    try {
      s2 = await fx.js.subscribe(`${subj}.>`, {
        durable: 'd',
        callback: (m) => void b.push(m.string()),
      });
    } catch (e) {
      s2err = e;
    }
    for (let i = 0; i < 5; i++) await fx.js.publish(`${subj}.a`, `${i}`);
    await sleep(300);
    s1.unsubscribe();
    s2?.unsubscribe();
    // Spec §5: "An active push durable that is already bound gives 10105"; binding twice
    // without a queue makes every message reach both subscribers.
    expect({ refused: s2err instanceof NatsError, delivered: a.length + b.length }).toEqual({
      refused: true,
      delivered: 5,
    });
  });

  it.each([
    ['durable', { durable: 'd' }],
    ['queue', { queue: 'q' }],
    ['ackPolicy explicit', { config: { ackPolicy: 'explicit' as const } }],
    ['maxDeliver 3', { config: { maxDeliver: 3 } }],
  ])('subscribe({ ordered: true, %s }) is refused (ADR-17 config checks)', async (_n, extra) => {
    const { stream, subj } = await fx.stream();
    let outcome: string;
    try {
      const oc = await fx.js.subscribe(`${subj}.>`, { ordered: true, ...extra } as never);
      outcome = 'resolved (options silently ignored)';
      (oc as { stop?: () => void }).stop?.();
      await sleep(100);
    } catch (e) {
      outcome = e instanceof InvalidOptionError ? 'InvalidOptionError' : `other: ${String(e)}`;
    }
    expect(outcome).toBe('InvalidOptionError');
    expect(await collect(fx.jsm.consumers.names(stream))).toEqual([]);
  });
});
