// The hang watchdog of exclusive handlers: its decisions as pure functions, and the watchdog on
// real timers (a message stand-in records the nak; a busy loop makes a real event-loop stall).
import { JetStreamContext, type JsMsg } from '../../lib/index.js';
import {
  HangWatchdog,
  hangDeadline,
  isStall,
  tickEvery,
  withinAckWait,
  type Handover,
} from '../../lib/nest/jetstream/hang-watchdog.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the event loop busy for `ms`, as a frozen or blocked process would. */
function standStill(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function fakeMsg(): JsMsg & { naks: number; acks: number } {
  const msg = {
    naks: 0,
    acks: 0,
    ack() {
      msg.acks++;
    },
    inProgress() {},
    subject: 'ticks.t',
    metadata: { stream: 'TICKS', sequence: { stream: 7, consumer: 7 }, numDelivered: 1 },
    nak() {
      msg.naks++;
    },
  };
  return msg as unknown as JsMsg & { naks: number; acks: number };
}

describe('hang watchdog decisions', () => {
  it('fires a little before the ack wait runs out, from the last progress', () => {
    expect(hangDeadline(1000, { handlerTimeout: 2000, ackWait: 2000 })).toBe(2900);
    expect(hangDeadline(0, { handlerTimeout: 500, ackWait: 500 })).toBe(450);
    expect(hangDeadline(0, { handlerTimeout: 10_000, ackWait: 2000 })).toBe(9900);
    expect(withinAckWait(2999, 1000, 2000)).toBe(true);
    expect(withinAckWait(3000, 1000, 2000)).toBe(false);
  });

  it('counts a stall past half the ack wait, looking often enough to see it', () => {
    expect(isStall(1000, 2000)).toBe(false);
    expect(isStall(1001, 2000)).toBe(true);
    expect(tickEvery(5000)).toBe(500);
    expect(tickEvery(1000)).toBe(125);
    expect(tickEvery(100)).toBe(50);
  });
});

describe('HangWatchdog', () => {
  let handovers: Handover[];
  let dog: HangWatchdog | undefined;
  const make = (ackWait: number, handlerTimeout = ackWait) =>
    (dog = new HangWatchdog({ ackWait, handlerTimeout }, (h) => handovers.push(h)));

  beforeEach(() => (handovers = []));
  afterEach(() => dog?.stop());

  it('gives a hung message up on time: aborted, naked once given back, settled when it ends', async () => {
    const msg = fakeMsg();
    const watch = make(300).watch(msg);
    await sleep(350);
    expect(watch.abandoned).toBe(true);
    expect(watch.signal.aborted).toBe(true);
    expect(handovers).toHaveLength(1);
    const [h] = handovers;
    expect(h.onTime).toBe(true);
    expect(h.why).toMatch(/has not settled TICKS#7 .* \d+ ms .*handlerTimeout 300 ms/);
    expect(msg.naks).toBe(0);
    h.giveBack();
    expect(msg.naks).toBe(1);
    let settled = false;
    void h.settled.then(() => (settled = true));
    await sleep(10);
    expect(settled).toBe(false);
    watch.done();
    await sleep(0);
    expect(settled).toBe(true);
  });

  it('leaves a handler alone while it reports progress', async () => {
    const watch = make(300).watch(fakeMsg());
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      watch.progress();
    }
    watch.done();
    expect(watch.abandoned).toBe(false);
    expect(handovers).toEqual([]);
  });

  it('lets a handler run past the ack wait, up to its handlerTimeout, while kept alive', async () => {
    const watch = make(200, 600).watch(fakeMsg());
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      watch.kept();
    }
    expect(watch.abandoned).toBe(false);
    await sleep(250);
    expect(watch.abandoned).toBe(true);
    // Kept alive every 100 ms: the server's ack wait had not run out, so the nak is on time.
    expect(handovers.map((h) => h.onTime)).toEqual([true]);
    expect(handovers[0].why).toMatch(/handlerTimeout 600 ms/);
  });

  it('skips a message started right after the event loop stood still', () => {
    const d = make(400);
    d.start();
    standStill(250);
    const msg = fakeMsg();
    const watch = d.watch(msg);
    expect(watch.abandoned).toBe(true);
    expect(handovers).toHaveLength(1);
    expect(handovers[0].onTime).toBe(false);
    expect(handovers[0].why).toMatch(/stood still/);
    handovers[0].giveBack();
    expect(msg.naks).toBe(0);
  });

  it('gives up, unsettled, a message whose handler ended past its ack wait unnoticed', () => {
    const watch = make(300).watch(fakeMsg());
    standStill(320);
    watch.done();
    expect(watch.abandoned).toBe(true);
    expect(handovers.map((h) => h.onTime)).toEqual([false]);
  });

  it('gives up the running message when a stall is noticed between messages', async () => {
    const d = make(400);
    d.start();
    const watch = d.watch(fakeMsg());
    standStill(300);
    await sleep(60);
    expect(watch.abandoned).toBe(true);
    expect(handovers.map((h) => h.onTime)).toEqual([false]);
  });

  it('gives the handler an aborted signal and a context that no longer settles', async () => {
    const msg = fakeMsg();
    const watch = make(300).watch(msg);
    const ctx = new JetStreamContext(msg, watch);
    ctx.inProgress();
    expect(ctx.signal.aborted).toBe(false);
    await sleep(350);
    expect(ctx.signal.aborted).toBe(true);
    ctx.ack();
    ctx.nak();
    expect([msg.acks, msg.naks]).toEqual([0, 0]);
    expect(new JetStreamContext(fakeMsg()).signal.aborted).toBe(false);
  });
});
