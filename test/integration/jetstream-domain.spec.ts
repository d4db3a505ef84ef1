// JetStream, KV and Object Store reached through a JetStream domain (a leaf node's client using
// its hub's JetStream, ADR-19). The cross-account API prefix is in jetstream-api-prefix.spec.ts.
import {
  connect,
  NoRespondersError,
  StreamNotFoundError,
  type NatsConnection,
} from '../../lib/core/index.js';
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import { BucketNotFoundError, type KvWatchEntry } from '../../lib/kv/index.js';
import { startLeafPair, stopAllServers, type LeafPair } from '../support/index.js';
import { bucketName, collect, drainInto, until } from './kv-helpers.js';

let pair: LeafPair;
const open = new Set<NatsConnection>();
let counter = 0;

beforeAll(async () => {
  pair = await startLeafPair({ hubDomain: 'hub', leafDomain: 'leaf' });
}, 30_000);
afterEach(async () => {
  await Promise.all([...open].map((nc) => nc.close().catch(() => undefined)));
  open.clear();
});
afterAll(stopAllServers);

async function client(server: 'hub' | 'leaf'): Promise<NatsConnection> {
  const nc = await connect({ servers: pair[server].url });
  open.add(nc);
  return nc;
}

/** A client of the leaf node talking to the hub's JetStream, and one of the hub itself. */
async function sides() {
  const leaf = await client('leaf');
  const hub = await client('hub');
  return {
    leaf,
    js: jetstream(leaf, { domain: 'hub' }),
    jsm: await jetstreamManager(leaf, { domain: 'hub' }),
    hubJs: jetstream(hub),
    hubJsm: await jetstreamManager(hub),
  };
}

const names = (): { stream: string; subj: string } => {
  counter++;
  return { stream: `D${counter}`, subj: `d${counter}` };
};

describe('JetStream through a domain (leaf node client, hub JetStream)', () => {
  it('manages a hub stream from the leaf and publishes to it; the PubAck names the hub domain', async () => {
    const { leaf, js, jsm, hubJsm } = await sides();
    const { stream, subj } = names();
    expect((await jsm.accountInfo()).domain).toBe('hub');
    const added = await jsm.streams.add({
      name: stream,
      subjects: [`${subj}.>`],
      storage: 'memory',
    });
    expect(added.config.name).toBe(stream);
    expect(await js.publish(`${subj}.a`, 'one')).toEqual({
      stream,
      seq: 1,
      duplicate: false,
      domain: 'hub',
    });
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
    // The stream lives on the hub only: the leaf's own JetStream (its default domain) lacks it.
    expect((await hubJsm.streams.info(stream)).state.messages).toBe(1);
    const local = await jetstreamManager(leaf);
    expect((await local.accountInfo()).domain).toBe('leaf');
    await expect(local.streams.info(stream)).rejects.toThrow(StreamNotFoundError);
  });

  it('consumes and acks through the domain with a pull consumer', async () => {
    const { js, jsm, hubJsm } = await sides();
    const { stream, subj } = names();
    await jsm.streams.add({ name: stream, subjects: [`${subj}.>`], storage: 'memory' });
    for (let i = 1; i <= 5; i++) await js.publish(`${subj}.${i}`, `m${i}`);
    await jsm.consumers.add(stream, { durableName: 'worker', ackPolicy: 'explicit' });
    const consumer = await js.consumers.get(stream, 'worker');
    const seen: string[] = [];
    const msgs = consumer.consume({ maxMessages: 10 });
    for await (const m of msgs) {
      seen.push(m.string());
      m.ack();
      if (seen.length === 5) break;
    }
    expect(seen).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    // The acks crossed the leafnode connection: the hub's consumer has nothing pending.
    let info = await hubJsm.consumers.info(stream, 'worker');
    for (const end = Date.now() + 10_000; info.ackFloor.streamSeq < 5 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      info = await hubJsm.consumers.info(stream, 'worker');
    }
    expect(info).toMatchObject({ numAckPending: 0, numPending: 0, ackFloor: { streamSeq: 5 } });
  });

  it('puts, gets and watches the KV entries of a hub bucket from the leaf', async () => {
    const { leaf, js, hubJs } = await sides();
    const bucket = bucketName('dkv');
    const kv = await js.createKeyValue({ bucket, storage: 'memory', history: 5 });
    // A bucket of the same name in the leaf's own domain: writes through `hub` must not land here.
    const local = await jetstream(leaf).createKeyValue({ bucket, storage: 'memory' });
    const w = await kv.watch();
    const got: KvWatchEntry[] = [];
    const done = drainInto(w, got);
    expect(await w.initialized).toBe(0);
    expect(await kv.put('a', '1')).toBe(1);
    expect(await kv.create('b', '2')).toBe(2);
    expect(await kv.update('a', '3', 1)).toBe(3);
    expect((await kv.get('a'))?.string()).toBe('3');
    expect((await kv.get('a', { revision: 1 }))?.string()).toBe('1');
    // A write made on the hub itself reaches the leaf's watcher too.
    await (await hubJs.keyValue(bucket)).put('c', '4');
    await until(() => got.length === 4, 10_000);
    w.stop();
    await done;
    expect(got.map((e) => `${e.key}=${e.string()}@${e.revision}`)).toEqual([
      'a=1@1',
      'b=2@2',
      'a=3@3',
      'c=4@4',
    ]);
    expect((await local.status()).values).toBe(0);
    expect(await local.get('a')).toBeNull();
  });

  it('puts and gets the objects of a hub store from the leaf', async () => {
    const { leaf, js, hubJs } = await sides();
    const bucket = bucketName('dos');
    const os = await js.createObjectStore({ bucket, storage: 'memory' });
    const data = new Uint8Array(600_000).map((_, i) => (i * 31) % 251);
    const info = await os.put({ name: 'blob', description: 'via hub' }, data);
    expect(info).toMatchObject({ name: 'blob', size: data.length, chunks: 5 });
    expect(Buffer.from((await os.getBytes('blob'))!).equals(Buffer.from(data))).toBe(true);
    expect((await os.info('blob'))?.description).toBe('via hub');
    expect((await collect(os.list())).map((i) => i.name)).toEqual(['blob']);
    const onHub = await hubJs.objectStore(bucket);
    expect(Buffer.from((await onHub.getBytes('blob'))!).equals(Buffer.from(data))).toBe(true);
    await expect(jetstream(leaf).objectStore(bucket)).rejects.toThrow(BucketNotFoundError);
  });

  it('writes objects to plain $O subjects: the server maps $JS.<domain>.API.$OBJ.>, never $O', async () => {
    const { leaf, js } = await sides();
    const bucket = bucketName('dmap');
    await js.createObjectStore({ bucket, storage: 'memory' });
    // What ADR-19 would suggest for a materialized view finds no responder on nats-server
    // (2.9.10 logs the mappings it adds: $KV and $OBJ, not the Object Store's $O).
    await expect(leaf.request(`$JS.hub.API.$O.${bucket}.C.x`, 'x')).rejects.toThrow(
      NoRespondersError,
    );
    // While $O is not denied on the leafnode connection, so the plain subject reaches the hub.
    const ack = (await leaf.request(`$O.${bucket}.C.x`, 'x')).json<Record<string, unknown>>();
    expect(ack).toMatchObject({ stream: `OBJ_${bucket}`, domain: 'hub' });
  });
});
