// JetStream, KV and Object Store used from another account through an imported API prefix
// (`jetstream({ apiPrefix })`, ADR-19). The domain case is in jetstream-domain.spec.ts.
import { connect, type NatsConnection } from '../../lib/core/index.js';
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import { startServer, stopAllServers, type NatsServerHandle } from '../support/index.js';
import { bucketName } from './kv-helpers.js';

// Account JS owns JetStream; account APP reaches it through the prefix JS.acc1.API. KV writes
// carry the prefix (ADR-19), Object Store writes go to plain $O subjects (as other clients'
// do), acks to $JS.ACK, and stream subjects are imported one by one.
const ACCOUNTS = `
accounts {
  JS: {
    jetstream: enabled
    users: [ { user: js, password: js } ]
    exports: [
      { service: "$JS.API.>", response_type: stream }
      { service: "$JS.ACK.>" }
      { service: "$KV.>" }
      { service: "$O.>" }
      { service: "orders.>" }
    ]
  }
  APP: {
    users: [ { user: app, password: app } ]
    imports: [
      { service: { account: JS, subject: "$JS.API.>" }, to: "JS.acc1.API.>" }
      { service: { account: JS, subject: "$KV.>" }, to: "JS.acc1.API.$KV.>" }
      { service: { account: JS, subject: "$O.>" } }
      { service: { account: JS, subject: "$JS.ACK.>" } }
      { service: { account: JS, subject: "orders.>" } }
    ]
  }
}
`;
const PREFIX = { apiPrefix: 'JS.acc1.API' };

let server: NatsServerHandle;
const open = new Set<NatsConnection>();

beforeAll(async () => {
  server = await startServer({ jetstream: true, config: ACCOUNTS });
});
afterEach(async () => {
  await Promise.all([...open].map((nc) => nc.close().catch(() => undefined)));
  open.clear();
});
afterAll(stopAllServers);

async function as(user: 'app' | 'js'): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, user, pass: user });
  open.add(nc);
  return nc;
}

describe('JetStream through an API prefix imported from another account', () => {
  it('manages a stream, publishes to it, and consumes and acks with a pull consumer', async () => {
    const app = await as('app');
    const jsm = await jetstreamManager(app, PREFIX);
    const js = jetstream(app, PREFIX);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: 'memory' });
    for (let i = 1; i <= 3; i++) {
      expect(await js.publish(`orders.${i}`, `o${i}`)).toMatchObject({ stream: 'ORDERS', seq: i });
    }
    expect((await jsm.streams.info('ORDERS')).state.messages).toBe(3);
    await jsm.consumers.add('ORDERS', { durableName: 'billing', ackPolicy: 'explicit' });
    const consumer = await js.consumers.get('ORDERS', 'billing');
    const batch = await consumer.fetch(3, { timeout: 5000 });
    expect(batch.map((m) => m.string())).toEqual(['o1', 'o2', 'o3']);
    for (const m of batch) await m.ackSync();
    // Seen from the owning account, without any prefix.
    const owner = await jetstreamManager(await as('js'));
    let info = await owner.consumers.info('ORDERS', 'billing');
    for (const end = Date.now() + 10_000; info.numAckPending > 0 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      info = await owner.consumers.info('ORDERS', 'billing');
    }
    expect(info).toMatchObject({ numAckPending: 0, ackFloor: { streamSeq: 3 } });
  });

  it('puts and gets KV entries and objects', async () => {
    const js = jetstream(await as('app'), PREFIX);
    const owner = jetstream(await as('js'));
    const kv = await js.createKeyValue({ bucket: bucketName('pkv'), storage: 'memory' });
    expect(await kv.put('a', '1')).toBe(1);
    expect(await kv.create('b', '2')).toBe(2);
    expect((await kv.get('a'))?.string()).toBe('1');
    expect((await (await owner.keyValue(kv.bucket)).get('b'))?.string()).toBe('2');

    const os = await js.createObjectStore({ bucket: bucketName('pos'), storage: 'memory' });
    const data = new Uint8Array(300_000).map((_, i) => i % 253);
    expect(await os.put({ name: 'blob' }, data)).toMatchObject({ size: data.length, chunks: 3 });
    expect(Buffer.from((await os.getBytes('blob'))!).equals(Buffer.from(data))).toBe(true);
    const theirs = await (await owner.objectStore(os.bucket)).getBytes('blob');
    expect(Buffer.from(theirs!).equals(Buffer.from(data))).toBe(true);
  });
});
