// A message queued on a subscription must not keep alive more memory than it holds: the parser
// hands out views of whole socket chunks (up to 64 KiB), so the queue copies small messages out.
// The copy must not land in Node's Buffer pool either: its slab (8 KiB up to Node 22, 64 KiB from
// Node 24) is shared with every small Buffer allocated meanwhile and lives as long as any of them.
// Small copies come from 16 KiB blocks that hold only the copies of one queue (CopyArena).
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
  it('copies a small message out of a large chunk into a block of its subscription', async () => {
    const sub = new Subscription(host, 1, 's', {});
    const msg = inChunk(64 * 1024, 'NATS/1.0\r\nA: b\r\n\r\n', 'hello');
    const chunk = msg.data.buffer;
    sub.deliver(msg);
    const pooled = Buffer.allocUnsafe(8);
    const m = await sub.nextMsg();
    expect(m.string()).toBe('hello');
    expect(m.headers?.get('A')).toBe('b');
    // Headers and payload are copied next to each other, into a 16 KiB block outside the pool.
    expect(m.data.buffer).not.toBe(chunk);
    expect(m.data.buffer).not.toBe(pooled.buffer);
    expect(m.data.buffer.byteLength).toBe(16 * 1024);
    expect(m.data.byteOffset).toBe('NATS/1.0\r\nA: b\r\n\r\n'.length);
  });

  it('packs the copies of one subscription in order, and never shares a block between two', async () => {
    const a = new Subscription(host, 1, 'a', {});
    const b = new Subscription(host, 2, 'b', {});
    for (let i = 0; i < 3; i++) a.deliver(inChunk(64 * 1024, null, `a${i}`));
    b.deliver(inChunk(64 * 1024, null, 'b0'));
    const [a0, a1, a2, b0] = [
      await a.nextMsg(),
      await a.nextMsg(),
      await a.nextMsg(),
      await b.nextMsg(),
    ];
    expect([a0.string(), a1.string(), a2.string(), b0.string()]).toEqual(['a0', 'a1', 'a2', 'b0']);
    expect(a1.data.buffer).toBe(a0.data.buffer);
    expect(a2.data.byteOffset).toBe(a1.data.byteOffset + 2);
    expect(b0.data.buffer).not.toBe(a0.data.buffer);
  });

  it('gives a copy larger than a quarter block memory of exactly its size', async () => {
    const sub = new Subscription(host, 1, 's', {});
    const payload = 'p'.repeat(5000);
    sub.deliver(inChunk(64 * 1024, null, payload));
    const m = await sub.nextMsg();
    expect(m.string()).toBe(payload);
    expect(m.data.buffer.byteLength).toBe(5000);
  });

  it('copies a message without headers, and an empty payload', async () => {
    const sub = new Subscription(host, 1, 's', {});
    sub.deliver(inChunk(64 * 1024, null, 'x'));
    sub.deliver(inChunk(64 * 1024, null, ''));
    const x = await sub.nextMsg();
    const empty = await sub.nextMsg();
    expect(x.string()).toBe('x');
    expect(x.hasHeaders).toBe(false);
    expect(x.data.buffer.byteLength).toBe(16 * 1024);
    expect(empty.data.byteLength).toBe(0);
    expect(empty.data.buffer.byteLength).toBeLessThanOrEqual(16 * 1024);
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
