// The pieces every consumer kind shares: the queued async iterator, the idle-heartbeat monitor and
// the callback-error reporter (lib/core/async).
import { jest } from '@jest/globals';
import { CallbackError, InvalidOperationError, type NatsError } from '../../lib/core/index.js';
import { CallbackRunner, IdleMonitor, MsgQueue } from '../../lib/core/internal.js';

describe('MsgQueue', () => {
  it('hands an item to a waiting reader, queues it otherwise, and counts bytes', async () => {
    const q = new MsgQueue<{ n: number }>(true);
    expect(q.push({ n: 1 }, 10)).toBe(true);
    expect(q.push({ n: 2 }, 5)).toBe(true);
    expect([q.length, q.bytes]).toEqual([2, 15]);
    const it = q.read();
    expect((await it.next()).value).toEqual({ n: 1 });
    expect((await it.next()).value).toEqual({ n: 2 });
    expect([q.length, q.bytes]).toEqual([0, 0]);
    const waiting = it.next();
    await Promise.resolve();
    expect(q.hasWaiter).toBe(true);
    expect(q.push({ n: 3 }, 7)).toBe(false); // straight to the reader, never queued
    expect((await waiting).value).toEqual({ n: 3 });
    expect(q.bytes).toBe(0);
  });

  it('lets queued items be read after end(), then throws the end error', async () => {
    const q = new MsgQueue<string>();
    q.push('a');
    q.end(new Error('gone'));
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const s of q.read()) got.push(s);
      })(),
    ).rejects.toThrow('gone');
    expect(got).toEqual(['a']);
  });

  it('runs the hooks: skipped items, an early end, and exit', async () => {
    const q = new MsgQueue<string>();
    for (const s of ['fc', 'a', 'b', 'c']) q.push(s);
    let exited = 0;
    let taken = 0;
    const got: string[] = [];
    for await (const s of q.read({
      taken: (s) => ++taken > 0 && s !== 'fc',
      done: () => got.length === 2,
      exit: () => exited++,
    }))
      got.push(s);
    expect(got).toEqual(['a', 'b']);
    expect(exited).toBe(1);
    expect(q.length).toBe(1);
  });

  it('refuses to be read when told to, without running exit', async () => {
    const q = new MsgQueue<string>();
    let exited = 0;
    const refused = new InvalidOperationError('no');
    const it = q.read({ refused, exit: () => exited++ });
    await expect(it.next()).rejects.toBe(refused);
    expect(exited).toBe(0);
  });

  it('compacts after many reads and keeps byte counts right', () => {
    const q = new MsgQueue<{ i: number }>(true);
    for (let i = 0; i < 5000; i++) q.push({ i }, 1);
    for (let i = 0; i < 4000; i++) expect(q.take()!.i).toBe(i);
    expect([q.length, q.bytes]).toEqual([1000, 1000]);
    expect(q.clear().length).toBe(1000);
    expect([q.length, q.bytes]).toEqual([0, 0]);
  });
});

describe('IdleMonitor', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('counts a miss after `misses` silent checks, like "no traffic for more than misses intervals"', () => {
    let idle = 0;
    const m = new IdleMonitor({ interval: 100, misses: 3, onIdle: () => void idle++ });
    m.alive(); // traffic just before the first check
    jest.advanceTimersByTime(100); // sees it
    jest.advanceTimersByTime(200);
    expect(idle).toBe(0); // 300 ms: at most 3 intervals since the traffic
    jest.advanceTimersByTime(100);
    expect([idle, m.missed]).toEqual([1, 1]); // 400 ms: more than 3 intervals
    jest.advanceTimersByTime(300);
    expect(m.missed).toBe(2); // the count starts over after a miss
    m.stop();
  });

  it('counts nothing while paused or when the consumer found life', () => {
    let paused = true;
    let alive = false;
    const m = new IdleMonitor({
      interval: 100,
      misses: 1,
      paused: () => paused,
      onIdle: () => !alive,
    });
    jest.advanceTimersByTime(500);
    expect(m.missed).toBe(0);
    paused = false;
    alive = true;
    jest.advanceTimersByTime(300);
    expect(m.missed).toBe(0);
    alive = false;
    jest.advanceTimersByTime(100);
    expect(m.missed).toBe(1);
    m.stop();
  });

  it('reads activity from a counter', () => {
    let delivered = 0;
    const m = new IdleMonitor({
      interval: 100,
      misses: 1,
      activity: () => delivered,
      onIdle: () => {},
    });
    delivered = 3;
    jest.advanceTimersByTime(100);
    expect(m.missed).toBe(0);
    jest.advanceTimersByTime(100);
    expect(m.missed).toBe(1);
    m.stop();
  });
});

describe('CallbackRunner', () => {
  it('reports a throw and a rejection as CallbackError, and runs `after` on success only', async () => {
    const errors: NatsError[] = [];
    const after: string[] = [];
    const r = new CallbackRunner<string>(
      (s) => {
        if (s === 'throw') throw new Error('boom');
        if (s === 'reject') return Promise.reject(new Error('later'));
        if (s === 'async') return Promise.resolve();
        return undefined;
      },
      { reportError: (e) => errors.push(e) },
      (s) => `subj.${s}`,
      (s) => after.push(s),
    );
    // A callback that returns nothing or throws: run() settles it at once and returns undefined.
    void r.run('sync');
    void r.run('throw');
    await r.run('reject');
    await r.run('async');
    expect(after).toEqual(['sync', 'async']);
    expect(errors.map((e) => [e instanceof CallbackError, e.message])).toEqual([
      [true, 'subscription callback for subj.throw threw: boom'],
      [true, 'subscription callback for subj.reject threw: later'],
    ]);
  });
});
