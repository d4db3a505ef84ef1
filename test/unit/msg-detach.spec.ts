// A message queued on a subscription must not keep alive more memory than it holds: the parser
// hands out views of whole socket chunks (up to 64 KiB), so the queue copies small messages out.
// The copy must not land in Node's Buffer pool either: its slab (8 KiB up to Node 22, 64 KiB from
// Node 24) is shared with every small Buffer allocated meanwhile and lives as long as any of them.
import { InFlight } from '../../lib/core/in-flight.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import { Subscription, type SubscriptionHost } from '../../lib/core/subscriptions/subscription.js';

const noResponder: Responder = { respondTo: () => undefined };
const host: SubscriptionHost = {
  unsubscribe: () => undefined,
  drainSubscription: () => Promise.resolve(),
  reportError: () => undefined,
  callbacks: new InFlight(),
};

/** A message whose headers and payload are views into a read chunk of `chunkSize` bytes. */
function inChunk(chunkSize: number, headers: string | null, payload: string): Msg {
  const chunk = Buffer.alloc(chunkSize, 0x2e);
  const h = headers === null ? null : Buffer.from(headers);
  const hLen = h?.length ?? 0;
  const at = 1000;
  if (h !== null) h.copy(chunk, at);
  chunk.write(payload, at + hLen);
  const raw = h === null ? null : chunk.subarray(at, at + hLen);
  const data = chunk.subarray(at + hLen, at + hLen + Buffer.byteLength(payload));
  return new Msg('s', 1, '', data, raw, noResponder);
}

describe('Msg.detach (queued messages)', () => {
  it('copies a small message out of a large chunk into memory of exactly its size', async () => {
    const sub = new Subscription(host, 1, 's', {});
    sub.deliver(inChunk(64 * 1024, 'NATS/1.0\r\nA: b\r\n\r\n', 'hello'));
    const m = await sub.nextMsg();
    expect(m.string()).toBe('hello');
    expect(m.headers?.get('A')).toBe('b');
    // Headers and payload share one allocation of their combined size, outside the Buffer pool.
    expect(m.data.buffer.byteLength).toBe('NATS/1.0\r\nA: b\r\n\r\n'.length + 5);
    expect(m.data.buffer.byteLength).toBeLessThan(Buffer.poolSize);
  });

  it('copies a message without headers', async () => {
    const sub = new Subscription(host, 1, 's', {});
    sub.deliver(inChunk(64 * 1024, null, 'x'));
    const m = await sub.nextMsg();
    expect(m.string()).toBe('x');
    expect(m.hasHeaders).toBe(false);
    expect(m.data.buffer.byteLength).toBe(1);
  });

  it('copies an empty payload out of a large chunk', async () => {
    const sub = new Subscription(host, 1, 's', {});
    sub.deliver(inChunk(64 * 1024, null, ''));
    const m = await sub.nextMsg();
    expect(m.data.byteLength).toBe(0);
    expect(m.data.buffer.byteLength).toBe(0);
  });

  it('leaves a message that fills most of its chunk as it is (no copy)', async () => {
    const sub = new Subscription(host, 1, 's', {});
    const payload = 'p'.repeat(3000);
    const original = inChunk(4096, null, payload);
    sub.deliver(original);
    const m = await sub.nextMsg();
    expect(m.data.buffer).toBe(original.data.buffer);
    expect(m.string()).toBe(payload);
  });
});
