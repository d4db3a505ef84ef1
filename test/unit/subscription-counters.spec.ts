// The counters of a Subscription are read-only: the connection trusts `max - delivered` as the
// auto-unsubscribe count it resends after a reconnect, so user code must not be able to move them.
import type { NatsError } from '../../lib/core/errors.js';
import { InFlight } from '../../lib/core/in-flight.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import {
  Subscription,
  type SubscriptionHost,
  type SubscriptionOptions,
} from '../../lib/core/subscriptions/subscription.js';

const noResponder: Responder = { respondTo: () => undefined };
const msg = (data: string): Msg => new Msg('counted', 1, '', Buffer.from(data), null, noResponder);

/** A host that records what the subscription asks of its connection. */
function fakeHost(): SubscriptionHost & { unsubscribed: Array<number | undefined> } {
  const unsubscribed: Array<number | undefined> = [];
  return {
    unsubscribed,
    unsubscribe: (_sub, max) => void unsubscribed.push(max),
    drainSubscription: () => Promise.resolve(),
    reportError: (_err: NatsError) => undefined,
    callbacks: new InFlight(),
  };
}

const subscription = (opts: SubscriptionOptions, host = fakeHost()): Subscription =>
  new Subscription(host, 1, 'counted', opts);

describe('Subscription counters', () => {
  it('counts delivered and dropped messages', () => {
    const sub = subscription({ pendingMsgsLimit: 2 });
    for (let i = 0; i < 5; i++) sub.deliver(msg(String(i)));
    expect({ delivered: sub.delivered, dropped: sub.dropped, pending: sub.pendingMsgs }).toEqual({
      delivered: 5,
      dropped: 3,
      pending: 2,
    });
  });

  it('cannot be assigned: delivered, dropped and max are getters only', () => {
    const sub = subscription({ max: 4, pendingMsgsLimit: 1 });
    sub.deliver(msg('a'));
    sub.deliver(msg('b'));
    // Test files are ES modules (strict mode): writing a getter-only property throws.
    // @ts-expect-error delivered is read-only
    expect(() => (sub.delivered = 0)).toThrow(TypeError);
    // @ts-expect-error dropped is read-only
    expect(() => (sub.dropped = 0)).toThrow(TypeError);
    // @ts-expect-error max is read-only
    expect(() => (sub.max = 100)).toThrow(TypeError);
    expect([sub.delivered, sub.dropped, sub.max]).toEqual([2, 1, 4]);
  });

  it('still stops at the auto-unsubscribe limit after a failed write', () => {
    const host = fakeHost();
    const got: string[] = [];
    const sub = subscription({ max: 3, callback: (m) => void got.push(m.string()) }, host);
    sub.deliver(msg('0'));
    try {
      // @ts-expect-error delivered is read-only
      sub.delivered = -10;
    } catch {
      // expected: the write is refused, the count is untouched
    }
    for (let i = 1; i < 6; i++) sub.deliver(msg(String(i)));
    expect(got).toEqual(['0', '1', '2']);
    expect(sub.delivered).toBe(3);
    expect(sub.limitReached).toBe(true);
    expect(host.unsubscribed).toEqual([undefined]);
  });

  it('raises max through unsubscribe(limit), telling the connection the new total', () => {
    const host = fakeHost();
    const sub = subscription({ max: 2 }, host);
    sub.deliver(msg('0'));
    sub.unsubscribe(5);
    expect(sub.max).toBe(5);
    expect(host.unsubscribed).toEqual([5]);
  });
});
