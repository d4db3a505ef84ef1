// nats-server 2.14's v2 ack subjects (`feature_flags { js_ack_fc_v2: true }`):
// `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`,
// and flow control on `$JS.FC.<domain>.<account hash>.…`. Metadata and every ack must be right.
import { connect, type Msg, type NatsConnection } from '../../lib/core/index.js';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '../../lib/jetstream/index.js';
import { describeSince, startServer, stopAllServers } from '../support/index.js';
import { sleep } from './jetstream-helpers.js';

const V2 = 'feature_flags { js_ack_fc_v2: true }';

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describeSince('2.14.0', 'v2 ack subjects (js_ack_fc_v2)', () => {
  const open: NatsConnection[] = [];
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let n = 0;

  async function setupServer(domain?: string): Promise<void> {
    const server = await startServer({ jetstream: true, jetstreamDomain: domain, config: V2 });
    nc = await connect({ servers: server.url });
    open.push(nc);
    js = jetstream(nc, domain ? { domain } : {});
    jsm = await jetstreamManager(nc, domain ? { domain } : {});
  }

  async function stream(count: number): Promise<{ stream: string; subj: string }> {
    n++;
    const names = { stream: `V${n}`, subj: `v${n}` };
    await jsm.streams.add({ name: names.stream, subjects: [`${names.subj}.>`], storage: 'memory' });
    for (let i = 0; i < count; i++) await js.publish(`${names.subj}.m`, `m${i}`);
    return names;
  }

  async function spyAcks(): Promise<Msg[]> {
    const seen: Msg[] = [];
    nc.subscribe('$JS.ACK.>', { callback: (m) => void seen.push(m) });
    await nc.flush();
    return seen;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
    await stopAllServers();
  });

  it('delivers 11-token ack subjects and reads their metadata', async () => {
    await setupServer();
    const { stream: s } = await stream(2);
    await jsm.consumers.add(s, { durableName: 'c' });
    const [m] = await js.consumers.get(s, 'c').then((c) => c.fetch(1, { timeout: 2000 }));
    const tokens = m.reply.split('.');
    expect(tokens).toHaveLength(11);
    expect(tokens.slice(0, 3)).toEqual(['$JS', 'ACK', '_']);
    expect(tokens[3]).toMatch(/^\w+$/);
    expect(tokens.slice(4, 9)).toEqual([s, 'c', '1', '1', '1']);
    expect(m.metadata).toMatchObject({
      stream: s,
      consumer: 'c',
      domain: '',
      accountHash: tokens[3],
      numDelivered: 1,
      sequence: { stream: 1, consumer: 1 },
      numPending: 1,
    });
    expect(Math.abs(m.metadata.timestamp.getTime() - Date.now())).toBeLessThan(5000);
  });

  it('ack(), nak(), inProgress(), term() and ackSync() all work on v2 subjects', async () => {
    await setupServer();
    const { stream: s } = await stream(4);
    await jsm.consumers.add(s, { durableName: 'c', ackWait: 1000 });
    const c = await js.consumers.get(s, 'c');
    const seen = await spyAcks();
    const [a, b, t, y] = await c.fetch(4, { timeout: 2000 });
    a.ack();
    t.term();
    await y.ackSync();
    b.inProgress();
    b.nak();
    const [again] = await c.fetch(1, { timeout: 2000 });
    expect(again.seq).toBe(2);
    expect(again.metadata.numDelivered).toBe(2);
    expect(again.metadata.sequence.consumer).toBe(5);
    again.ack();
    await nc.flush();
    await sleep(100);
    const info = await c.info();
    expect(info.numAckPending).toBe(0);
    expect(info.ackFloor.streamSeq).toBe(4);
    expect(seen.every((m) => m.subject.split('.').length === 11)).toBe(true);
    expect(await c.fetch(1, { timeout: 300 })).toEqual([]);
  });

  it('reads the domain from the ack subject of a server with a JetStream domain', async () => {
    await setupServer('hub');
    const { stream: s } = await stream(1);
    await jsm.consumers.add(s, { durableName: 'c' });
    const [m] = await js.consumers.get(s, 'c').then((c) => c.fetch(1, { timeout: 2000 }));
    expect(m.reply.startsWith('$JS.ACK.hub.')).toBe(true);
    expect(m.metadata.domain).toBe('hub');
    m.ack();
    await sleep(100);
    expect((await jsm.consumers.info(s, 'c')).numAckPending).toBe(0);
  });

  it('push consumers answer v2 flow control and ack through v2 subjects', async () => {
    await setupServer();
    const { subj } = await stream(0);
    const payload = new Uint8Array(64 * 1024);
    await Promise.all(Array.from({ length: 200 }, () => js.publish(`${subj}.m`, payload)));
    const fc: string[] = [];
    nc.subscribe('$JS.FC.>', { callback: (m) => void fc.push(m.subject) });
    const got: JsMsg[] = [];
    const sub = await js.subscribe(`${subj}.m`, {
      durable: 'p',
      manualAck: true,
      flowControl: true,
      idleHeartbeat: 500,
      callback: (m) => {
        got.push(m);
        m.ack();
      },
    });
    await until(() => got.length === 200, 10_000);
    await sleep(200);
    expect(got.map((m) => m.metadata.sequence.stream)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    expect(fc.length).toBeGreaterThan(0);
    expect(fc.every((s) => s.startsWith('$JS.FC._.'))).toBe(true);
    expect((await sub.consumerInfo()).numAckPending).toBe(0);
    await sub.destroy();
  });

  it('an ordered consumer reads everything in order from v2 subjects', async () => {
    await setupServer();
    const { stream: s } = await stream(50);
    const oc = await js.consumers.ordered(s);
    const seqs: number[] = [];
    for await (const m of oc) {
      seqs.push(m.metadata.sequence.stream);
      if (seqs.length === 50) break;
    }
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(oc.resets).toBe(0);
  });
});
