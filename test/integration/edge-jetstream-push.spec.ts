// Edge cases: push subscriptions and ordered-subscribe option checks against a real nats-server.
import { InvalidOptionError, NatsError } from '../../lib/core/index.js';
import { JsFixture, sleep } from './jetstream-helpers.js';
import { collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

describe('push subscriptions', () => {
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
