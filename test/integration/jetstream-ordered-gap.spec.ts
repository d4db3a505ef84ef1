// Ordered consumers recover from a gap in the consumer sequence (ADR-17). A real server does not
// skip on demand, and it refuses a client publish whose reply is a `$JS.ACK.` subject (a
// permissions violation: the prefix is reserved), so a forged delivery cannot be sent. The gap
// comes from a real consumer instead: a second push consumer, on a side stream, is pointed at the
// ordered consumer's inbox once its own consumer sequence is past the one expected there.
import type { NatsConnection } from '../../lib/core/index.js';
import type { JsMsg } from '../../lib/jetstream/index.js';
import { rawConnect } from '../support/index.js';
import { JsFixture } from './jetstream-helpers.js';
import { drainInto, until } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The inbox the server delivers the ordered consumer's current incarnation to. */
async function deliverSubject(stream: string, consumer: string): Promise<string> {
  const info = await fx.jsm.consumers.info(stream, consumer);
  return info.config.deliverSubject!;
}

/**
 * A push consumer on a side stream that has already delivered `cseq - 1` messages (to a sink of
 * its own). `fire(inbox)` points it at `inbox` and publishes one more side message, which arrives
 * there with consumer sequence `cseq` and the payload `forged`.
 */
async function gapMaker(nc: NatsConnection, cseq: number) {
  const side = await fx.stream();
  await Promise.all(range(1, cseq - 1).map((i) => fx.js.publish(`${side.subj}.x`, `${i}`)));
  let sunk = 0;
  const sink = nc.subscribe(nc.newInbox(), { callback: () => void sunk++ });
  await nc.flush();
  await fx.jsm.consumers.add(side.stream, {
    durableName: 'gap',
    deliverSubject: sink.subject,
    ackPolicy: 'none',
  });
  await until(() => sunk === cseq - 1, 10_000);
  sink.unsubscribe();
  return {
    fire: async (inbox: string): Promise<void> => {
      await fx.jsm.consumers.update(side.stream, 'gap', { deliverSubject: inbox });
      await fx.js.publish(`${side.subj}.x`, 'forged');
    },
  };
}

describe('ordered consumer on a consumer-sequence gap', () => {
  it('recreates its consumer and still delivers every stored message once, in order', async () => {
    const { stream, subj } = await fx.stream();
    for (const i of range(1, 5)) await fx.js.publish(`${subj}.a`, `m${i}`);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 30_000 });
    const got: JsMsg[] = [];
    const done = drainInto(oc, got);
    await until(() => got.length === 5, 10_000);
    const first = oc.consumerName;
    expect(oc.resets).toBe(0);

    // Expected next: consumer sequence 6. This delivery has 9, as if 6 to 8 were lost.
    const gap = await gapMaker(await fx.connect(), 9);
    await gap.fire(await deliverSubject(stream, first));
    await until(() => oc.resets === 1, 10_000);
    await until(() => oc.consumerName !== '' && oc.consumerName !== first, 10_000);

    for (const i of range(6, 10)) await fx.js.publish(`${subj}.a`, `m${i}`);
    // Ordered delivery: once the end marker is in, everything stored before it was delivered.
    await fx.js.publish(`${subj}.a`, 'end');
    await until(() => got.at(-1)?.string() === 'end', 10_000);
    oc.stop();
    await done;
    expect(got.map((m) => m.seq)).toEqual(range(1, 11));
    expect(got.map((m) => m.string())).toEqual([...range(1, 10).map((i) => `m${i}`), 'end']);
    expect(oc.resets).toBe(1);
  });

  it('recovers from a gap injected while the stream is still being delivered', async () => {
    const { stream, subj } = await fx.stream();
    const total = 1000;
    await Promise.all(range(1, total).map((i) => fx.js.publish(`${subj}.${i % 7}`, `${i}`)));
    // Ahead of any consumer sequence the ordered consumer can expect.
    const gap = await gapMaker(await fx.connect(), total + 10);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 30_000 });
    const got: JsMsg[] = [];
    const done = drainInto(oc, got);
    await until(() => got.length >= 50, 10_000);
    // Whether the server has sent everything by now or not, nothing may be lost or repeated.
    await gap.fire(await deliverSubject(stream, oc.consumerName));
    await until(() => oc.resets === 1, 10_000);
    await fx.js.publish(`${subj}.end`, 'end');
    await until(() => got.at(-1)?.string() === 'end', 20_000);
    oc.stop();
    await done;
    expect(got.map((m) => m.seq)).toEqual(range(1, total + 1));
    expect(oc.resets).toBe(1);
  });

  it('recreates its consumer when a heartbeat reports deliveries it never saw', async () => {
    const { stream, subj } = await fx.stream();
    for (const i of range(1, 3)) await fx.js.publish(`${subj}.a`, `m${i}`);
    const oc = await fx.js.consumers.ordered(stream, { idleHeartbeat: 30_000 });
    const got: JsMsg[] = [];
    const done = drainInto(oc, got);
    await until(() => got.length === 3, 10_000);
    const first = oc.consumerName;
    // An idle heartbeat (status 100) saying the consumer already delivered sequence 7.
    const raw = await rawConnect(fx.server.port);
    try {
      raw.connect();
      await raw.waitFor('PONG');
      const hdr =
        'NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 7\r\nNats-Last-Stream: 7\r\n\r\n';
      raw.send(
        `HPUB ${await deliverSubject(stream, first)} ${hdr.length} ${hdr.length}\r\n${hdr}\r\n`,
      );
      raw.send('PING\r\n');
      await raw.waitFor('PONG');
    } finally {
      raw.close();
    }
    await until(() => oc.resets === 1, 10_000);
    await until(() => oc.consumerName !== '' && oc.consumerName !== first, 10_000);
    await fx.js.publish(`${subj}.a`, 'end');
    await until(() => got.at(-1)?.string() === 'end', 10_000);
    oc.stop();
    await done;
    expect(got.map((m) => m.string())).toEqual(['m1', 'm2', 'm3', 'end']);
  });
});
