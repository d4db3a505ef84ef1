import { TimeoutError, NoRespondersError } from '../../lib/core/errors.js';
import { Msg, type Responder } from '../../lib/core/messages/msg.js';
import { DeadlineQueue } from '../../lib/core/subscriptions/deadline-queue.js';
import { idOf, MuxInbox } from '../../lib/core/subscriptions/mux-inbox.js';

const noResponder: Responder = { respondTo: () => undefined };
const reply = (subject: string, data = 'ok', headers: Uint8Array | null = null): Msg =>
  new Msg(subject, 1, '', Buffer.from(data), headers, noResponder);

/** Settles to the error's class name, or 'ok', with the time it took. */
async function outcome(p: Promise<Msg>, t0: number): Promise<{ what: string; ms: number }> {
  try {
    await p;
    return { what: 'ok', ms: performance.now() - t0 };
  } catch (err) {
    return { what: (err as Error).constructor.name, ms: performance.now() - t0 };
  }
}

describe('MuxInbox', () => {
  it('routes a reply to its request by the last token of the reply subject', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const a = mux.register('svc.a', 1000);
    const b = mux.register('svc.b', 1000);
    expect(a.reply).not.toBe(b.reply);
    mux.dispatch(reply(b.reply, 'B'));
    mux.dispatch(reply(a.reply, 'A'));
    expect((await a.response).string()).toBe('A');
    expect((await b.response).string()).toBe('B');
    expect(mux.size).toBe(0);
    mux.dispatch(reply(a.reply, 'late')); // dropped, no throw
  });

  it('times every request out at its own deadline, whatever the order of timeouts', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const t0 = performance.now();
    const long = outcome(mux.register('slow', 400).response, t0);
    const short = outcome(mux.register('fast', 60).response, t0);
    const mid = outcome(mux.register('mid', 200).response, t0);
    const r = await Promise.all([short, mid, long]);
    expect(r.map((x) => x.what)).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
    expect(r[0].ms).toBeGreaterThanOrEqual(59);
    expect(r[0].ms).toBeLessThan(300);
    expect(r[1].ms).toBeGreaterThanOrEqual(199);
    expect(r[2].ms).toBeGreaterThanOrEqual(399);
    expect(mux.size).toBe(0);
  });

  it('names the subject and the timeout in the TimeoutError', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    await expect(mux.register('orders.get', 20).response).rejects.toThrow(
      new TimeoutError('request to orders.get timed out after 20 ms'),
    );
  });

  it('keeps later requests alive after an earlier one was answered', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const first = mux.register('a', 50);
    mux.dispatch(reply(first.reply));
    await first.response;
    const t0 = performance.now();
    const second = mux.register('a', 150);
    // The timer armed for the first request fires first and must not fail the second.
    await new Promise((r) => setTimeout(r, 80));
    expect(mux.size).toBe(1);
    mux.dispatch(reply(second.reply, 'late but in time'));
    expect((await second.response).string()).toBe('late but in time');
    expect(performance.now() - t0).toBeLessThan(150);
  });

  it('maps a 503 status reply to NoRespondersError', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const r = mux.register('nobody', 1000);
    mux.dispatch(reply(r.reply, '', Buffer.from('NATS/1.0 503\r\n\r\n')));
    await expect(r.response).rejects.toBeInstanceOf(NoRespondersError);
  });

  it('failAll rejects everything and cancels the timer; whenIdle resolves', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const a = mux.register('a', 10_000);
    const b = mux.register('b', 20_000);
    const idle = mux.whenIdle();
    const err = new TimeoutError('closing');
    mux.failAll(err);
    await expect(a.response).rejects.toBe(err);
    await expect(b.response).rejects.toBe(err);
    await idle;
    expect(mux.size).toBe(0);
  });

  it('its timer keeps the process alive only while a request is pending', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const timerRef = () => (mux as unknown as { timer?: NodeJS.Timeout }).timer?.hasRef();
    const a = mux.register('a', 60_000);
    expect(timerRef()).toBe(true);
    mux.dispatch(reply(a.reply));
    await a.response;
    // Left armed (re-arming per request costs more), but it must not hold the process.
    expect(timerRef()).toBe(false);
    const b = mux.register('b', 60_000);
    expect(timerRef()).toBe(true);
    mux.cancel(b.reply, new Error('publish failed'));
    await expect(b.response).rejects.toThrow('publish failed');
    expect(timerRef()).toBe(false);
    mux.failAll(new TimeoutError('closing'));
    expect(timerRef()).toBeUndefined();
  });

  it('cancel() rejects one request and leaves the others', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const a = mux.register('a', 1000);
    const b = mux.register('b', 1000);
    mux.cancel(a.reply, new Error('publish failed'));
    await expect(a.response).rejects.toThrow('publish failed');
    mux.dispatch(reply(b.reply));
    await expect(b.response).resolves.toBeInstanceOf(Msg);
  });

  it('times out only the unanswered requests when replies come back out of order', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const sent = Array.from({ length: 2000 }, (_, i) => mux.register(`s.${i}`, 150));
    // Answer every request but each 7th, from the back: the oldest stays pending throughout.
    for (let i = sent.length - 1; i >= 0; i--) if (i % 7 !== 0) mux.dispatch(reply(sent[i].reply));
    expect(mux.size).toBe(Math.ceil(2000 / 7));
    const outcomes = await Promise.all(sent.map((r) => outcome(r.response, 0)));
    outcomes.forEach((o, i) => expect(o.what).toBe(i % 7 === 0 ? 'TimeoutError' : 'ok'));
    expect(mux.size).toBe(0);
  });

  it('ignores replies whose last token is not one of its request numbers', async () => {
    const mux = new MuxInbox('_INBOX.x.');
    const a = mux.register('a', 1000);
    for (const bad of ['_INBOX.x.', '_INBOX.x.0-', '_INBOX.x.Z', '_INBOX.x.00000000000000000'])
      mux.dispatch(reply(bad));
    expect(mux.size).toBe(1);
    mux.dispatch(reply(a.reply));
    await expect(a.response).resolves.toBeInstanceOf(Msg);
  });

  it('reads request numbers in base 36 in place', () => {
    expect(idOf('_INBOX.x.0', 9)).toBe(0);
    expect(idOf('_INBOX.x.zz', 9)).toBe(36 * 35 + 35);
    expect(idOf('_INBOX.x.A', 9)).toBe(-1);
    expect(idOf('_INBOX.x.', 9)).toBe(-1);
    expect(idOf('_INBOX.x.12345678901', 9)).toBe(-1);
  });
});

describe('DeadlineQueue', () => {
  const entry = (deadline: number) => ({ deadline, settled: false });

  it('yields the oldest unsettled entry, skipping settled ones', () => {
    const q = new DeadlineQueue<ReturnType<typeof entry>>();
    const [a, b, c] = [entry(1), entry(2), entry(3)];
    [a, b, c].forEach((e) => q.push(e));
    b.settled = true;
    q.settled();
    expect(q.first()).toBe(a);
    a.settled = true;
    q.settled();
    expect(q.first()).toBe(c);
    expect(q.size).toBe(1);
    c.settled = true;
    q.settled();
    expect(q.first()).toBeUndefined();
  });

  it('keeps its ring within a few times the live entries under out-of-order settling', () => {
    const q = new DeadlineQueue<ReturnType<typeof entry>>();
    const stuck = entry(0);
    q.push(stuck);
    for (let i = 1; i <= 100_000; i++) {
      const e = entry(i);
      q.push(e);
      e.settled = true;
      q.settled();
    }
    const slots = (q as unknown as { slots: unknown[] }).slots.length;
    expect(q.size).toBe(1);
    expect(q.first()).toBe(stuck);
    expect(slots).toBeLessThanOrEqual(32);
  });
});
